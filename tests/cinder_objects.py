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

"""Cinder volume objects with attachments, as Cinder's manager keeps them.

The driver's policy reads ``volume_attachment``, ``attach_status`` and
``status``; the unit tests, the functional World and the benchmarks all
build volumes that way. Import after ``cinder.tests.unit`` (design.rst,
testing).
"""

import uuid

# NOTE: cinder.tests.unit first: with eventlet patching off, importing
# cinder.objects before it makes oslo.service raise BackendAlreadySelected.
from cinder.tests.unit import fake_volume
from cinder import objects  # noqa: I100


def attachment(ctx, volume, host: str, attach_status: str = 'attached',
               **fields):
    """A VolumeAttachment of *volume* on *host*."""
    fields.setdefault('id', str(uuid.uuid4()))
    fields.setdefault('connector', {})
    return objects.VolumeAttachment(
        context=ctx, volume_id=volume.id, attached_host=host,
        attach_status=attach_status, **fields)


def set_attachments(ctx, volume, attachments) -> None:
    """Give *volume* these attachments and the status Cinder would."""
    attachments = list(attachments)
    volume.volume_attachment = objects.VolumeAttachmentList(
        context=ctx, objects=attachments)
    volume.attach_status = 'attached' if attachments else 'detached'
    volume.status = 'in-use' if attachments else 'available'


def volume(ctx, size: int = 1, attached_to=(), **updates):
    """A volume (random id unless given) attached to *attached_to*."""
    updates.setdefault('id', str(uuid.uuid4()))
    vol = fake_volume.fake_volume_obj(ctx, size=size, **updates)
    set_attachments(ctx, vol, [attachment(ctx, vol, host)
                               for host in attached_to])
    return vol


def attachments_of(volume) -> list:
    """The attachments a driver re-reads, where there is no database.

    The driver reads them from Cinder's database under its family lock;
    tests, the World and the benchmarks keep them on the volume objects,
    which their threads share as the database.
    """
    return list(volume.volume_attachment)


def record_exists(kind: str, record_id: str) -> bool:
    """Where there is no database: every Cinder-named LV is Cinder's."""
    return True
