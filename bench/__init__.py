"""Benchmarks of cinder-shared-lvm against raw LVM and the stock iSCSI path.

Run everything with ``tools/bench`` (or ``python -m bench``); see
doc/source/benchmarks.rst. Import order matters as in the tests
(design.rst, testing): ``bench.env`` imports ``cinder.tests.unit`` before
anything imports ``cinder.objects``.
"""
