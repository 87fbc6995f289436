"""Shared-LUN LVM backend for OpenStack Cinder and Nova."""
