#!/usr/bin/env python3
"""Print the pytest node ids of the tests a JUnit XML report marks as skipped, one a line.

    python .ci/skipped_tests.py report.xml    # e.g. tests/test_data.py::test_dev_v11_summary
"""
import sys
import xml.etree.ElementTree as ET

for case in ET.parse(sys.argv[1]).iter('testcase'):
    if case.find('skipped') is not None:
        module = case.get('classname', '').replace('.', '/')
        print(f"{module}.py::{case.get('name')}")
