"""Plumbing shared by the host-LVM tests (not the code under test)."""

import subprocess


def run(*argv, check=True, env=None):
    """Run a command directly; raise with its stderr when it fails."""
    result = subprocess.run(list(argv), capture_output=True, text=True,
                            timeout=120, env=env)
    if check and result.returncode:
        raise RuntimeError('%s failed (%d): %s' % (
            ' '.join(argv), result.returncode, result.stderr.strip()))
    return result
