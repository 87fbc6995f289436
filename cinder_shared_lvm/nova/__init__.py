"""The compute side of cinder-shared-lvm: Nova's libvirt volume driver.

Importing this package imports nothing from Nova; its modules do.
"""
