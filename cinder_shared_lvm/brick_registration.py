# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Make os-brick know the ``shared_lvm`` connector.

os-brick has no plugin point for connectors: ``InitiatorConnector.factory``
looks protocols up in module-level dicts (one per architecture), and
``get_connector_properties`` walks a module-level list. ``register`` adds
``SharedLVMConnector`` to both, so that

* ``InitiatorConnector.factory('SHARED_LVM', root_helper, ...)`` (any case)
  builds a ``SharedLVMConnector``, and
* ``os_brick.initiator.connector.get_connector_properties`` (what Nova's
  ``get_volume_connector`` and Cinder's own attach paths call) carries
  ``shared_lvm_vgs``.

This module imports os-brick only, never Cinder or Nova, so both sides use
it. Registration changes process-global state; it is idempotent.
"""

import threading

from os_brick import initiator
from os_brick.initiator import connector as brick_connector
from oslo_log import log as logging
from oslo_utils import importutils

from cinder_shared_lvm import contract

LOG = logging.getLogger(__name__)

PROTOCOL = contract.PROTOCOL
CONNECTOR_PATH = contract.CONNECTOR_PATH

_lock = threading.Lock()


def _mappings() -> list:
    # NOTE: factory() picks one dict by platform.machine(); the connector
    # is architecture-neutral (it runs LVM commands only), so it goes into
    # every per-architecture dict os-brick has.
    return [getattr(brick_connector, name)
            for name in sorted(vars(brick_connector))
            if name.startswith('_connector_mapping')
            and isinstance(getattr(brick_connector, name), dict)]


def is_registered() -> bool:
    return (all(m.get(PROTOCOL) == CONNECTOR_PATH for m in _mappings()) and
            CONNECTOR_PATH in brick_connector._get_connector_list())


def register() -> None:
    """Register ``SharedLVMConnector`` with os-brick (idempotent).

    :raises ImportError: the connector cannot be imported; nothing is
                         registered then, because a broken entry in the
                         connector list would break every
                         ``get_connector_properties`` call in this process
    """
    with _lock:
        if is_registered():
            return
        importutils.import_class(CONNECTOR_PATH)
        initiator.SHARED_LVM = PROTOCOL
        for mapping in _mappings():
            mapping[PROTOCOL] = CONNECTOR_PATH
        # NOTE: _get_connector_list() returns the module's own list, so
        # appending to it is what get_connector_properties() iterates.
        connectors = brick_connector._get_connector_list()
        if CONNECTOR_PATH not in connectors:
            connectors.append(CONNECTOR_PATH)
        LOG.debug('Registered os-brick connector %s for protocol %s',
                  CONNECTOR_PATH, PROTOCOL)
