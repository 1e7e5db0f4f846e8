#!/usr/bin/env python3
"""docs/tutorial.md against the code it shows: every ```cpp block whose first line is
`// file: <path>` must equal that file exactly, and every program of examples/tutorial/ must
appear. The programs themselves run as the tutorial_* CTests.
  tests/check_tutorial.py [source root]          (CTest: tutorial_snippets)"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
page = (root / "docs" / "tutorial.md").read_text()
blocks = re.findall(r"```cpp\n(.*?)```", page, flags=re.S)
shown = set()
failures = []
for block in blocks:
    first, _, body = block.partition("\n")
    match = re.fullmatch(r"// file: (\S+)", first.strip())
    if not match:
        continue  # a fragment for reading, not a program
    path = match.group(1)
    shown.add(path)
    source = root / path
    if not source.exists():
        failures.append(f"docs/tutorial.md shows {path}, which does not exist")
    elif source.read_text() != body:
        failures.append(f"docs/tutorial.md's block for {path} differs from the file: copy the "
                        f"file into the block again")
for program in sorted((root / "examples" / "tutorial").glob("*.cpp")):
    path = program.relative_to(root).as_posix()
    if path not in shown:
        failures.append(f"{path} is not shown in docs/tutorial.md")
for failure in failures:
    print("FAIL:", failure)
print(f"tutorial_snippets: {len(shown)} programs shown, {len(failures)} problems")
sys.exit(1 if failures else 0)
