"""Tools for the kit's maintainers, not for students: the message catalogs
(`python -m devtools.catalog update|check`) and the generated lesson README sections
(`python -m devtools.docs [--check]`). Run them from the repository's root.

The runtime package `grader` never imports this package (tests/test_layout.py checks it),
and the wheel does not ship it: `[tool.setuptools.packages.find]` includes only `grader*`.
The tools may need more than a student has (Babel for the catalogs: `pip install -e ".[test]"`).
"""
