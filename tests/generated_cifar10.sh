# Sourced by the scripts that run train_cifar10 as a program (train_safety_test.sh,
# preset_test.sh): a tiny CIFAR-10 folder of random images, made in seconds.
#   generated_cifar10 DIR TRAIN_COUNT TEST_COUNT
# writes DIR/data_batch_1.bin and DIR/test_batch.bin: records of a label byte (i % 10), then
# 3072 random pixel bytes.
generated_cifar10() {
  mkdir -p "$1"
  local file count i
  for file in data_batch_1 test_batch; do
    count=$([[ $file == data_batch_1 ]] && echo "$2" || echo "$3")
    for ((i = 0; i < count; i++)); do
      printf "\\$(printf '%03o' $((i % 10)))"
      head -c 3072 /dev/urandom
    done > "$1/$file.bin"
  done
}
