# The consumer_install test: minidl as an installed package, end to end. Installs this build
# tree into a scratch prefix, configures examples/consumer against that prefix only (its
# find_package(minidl) must resolve there), builds it and runs it: the consumer exits nonzero
# when its small CNN did not learn. Run by CTest as
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCXX_COMPILER=... -DCONFIG=... -P this
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR CXX_COMPILER CONFIG)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_install: -D${var}=... is required")
  endif()
endforeach()
set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
# The generated data, not whatever CIFAR10_DIR the suite was given: quick and deterministic.
unset(ENV{CIFAR10_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer_install: ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})
foreach(file include/minidl/minidl.h include/minidl/core/minidl.h include/minidl/core/tensor.h
             include/minidl/core/cuda/runtime.h include/minidl/ops/ops.h
             include/minidl/io/checkpoint.h)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "consumer_install: ${prefix}/${file} was not installed")
  endif()
endforeach()
run("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${consumer_build}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
# The package found must be the one just installed, not one elsewhere on the system.
file(STRINGS ${consumer_build}/CMakeCache.txt found REGEX "^minidl_DIR:")
string(FIND "${found}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "consumer_install: found minidl outside ${prefix}: ${found}")
endif()
run("build" ${CMAKE_COMMAND} --build ${consumer_build})
run("run" ${consumer_build}/consumer auto)
if(NOT EXISTS ${WORK_DIR}/consumer.safetensors)
  message(FATAL_ERROR "consumer_install: the consumer wrote no checkpoint")
endif()
message(STATUS "consumer_install: installed, found, built and trained against ${prefix}")
