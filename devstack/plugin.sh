#!/bin/bash
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

# devstack plugin of cinder-shared-lvm: one node, where cinder-volume and
# nova-compute share a loop-file "LUN" that holds the shared VG.
#
#   [[local|localrc]]
#   enable_plugin cinder-shared-lvm <git url of this repository>
#
# Phases (devstack sources this file with "stack <phase>" and
# "unstack"/"clean"):
#   install      pip-install the package with its Cinder extra
#   post-config  set up the LUN and the VG (cinder-shared-lvm prepare, which
#                is idempotent), install the rootwrap filters, write the
#                backend section of cinder.conf
#   extra        restart nova-compute through nova-compute-shared-lvm, which
#                registers the shared_lvm volume driver first
#   unstack      detach the loop device (the VG stays in the file)
#   clean        remove the LUN file
# shellcheck shell=bash disable=SC2154
# (SC2154: CINDER_CONF, NOVA_BIN_DIR, ... are devstack's own variables.)

_XTRACE_SHARED_LVM=$(set +o | grep xtrace)
set -o xtrace

# The loop device that holds the LUN file, or nothing.
function shared_lvm_lun_device {
    sudo losetup -j "$SHARED_LVM_LUN_FILE" -O NAME --noheadings | head -n1
}

# Create the LUN file once, attach it, and print its device path.
function shared_lvm_attach_lun {
    local dev
    if [[ ! -f "$SHARED_LVM_LUN_FILE" ]]; then
        truncate -s "$SHARED_LVM_LUN_SIZE" "$SHARED_LVM_LUN_FILE"
    fi
    dev=$(shared_lvm_lun_device)
    if [[ -z "$dev" ]]; then
        dev=$(sudo losetup --show -f "$SHARED_LVM_LUN_FILE")
    fi
    echo "$dev"
}

function install_shared_lvm {
    setup_develop "$SHARED_LVM_DIR" cinder
}

# Write the backend section and enable it (cinder.conf.sample lists every
# shared_lvm_* option; tests/unit/test_devstack.py checks this section
# against it).
function configure_shared_lvm_cinder {
    local dev=$1
    local section=$SHARED_LVM_BACKEND_NAME
    local enabled
    iniset "$CINDER_CONF" "$section" volume_driver \
        cinder_shared_lvm.driver.SharedLVMDriver
    iniset "$CINDER_CONF" "$section" volume_backend_name "$section"
    iniset "$CINDER_CONF" "$section" shared_lvm_volume_group "$SHARED_LVM_VG"
    iniset "$CINDER_CONF" "$section" shared_lvm_devices "$dev"
    iniset "$CINDER_CONF" "$section" shared_lvm_snapshot_mode \
        "$SHARED_LVM_SNAPSHOT_MODE"
    enabled=$(iniget "$CINDER_CONF" DEFAULT enabled_backends)
    if [[ ",$enabled," != *",$section,"* ]]; then
        iniset "$CINDER_CONF" DEFAULT enabled_backends \
            "${enabled:+$enabled,}$section"
    fi
    if [[ "$SHARED_LVM_DEFAULT_TYPE" == "True" ]]; then
        iniset "$CINDER_CONF" DEFAULT default_volume_type "$section"
    fi
}

function install_shared_lvm_rootwrap {
    sudo install -m 0644 \
        "$SHARED_LVM_DIR/etc/cinder-shared-lvm/rootwrap.d-shared-lvm.filters" \
        /etc/cinder/rootwrap.d/shared-lvm.filters
}

function configure_shared_lvm {
    local dev
    dev=$(shared_lvm_attach_lun)
    # prepare is idempotent: on a re-stack the VG is already there.
    sudo "$(get_python_exec_prefix)/cinder-shared-lvm" prepare \
        --vg "$SHARED_LVM_VG" \
        --devices "$dev" --expected-volumes "$SHARED_LVM_EXPECTED_VOLUMES"
    install_shared_lvm_rootwrap
    configure_shared_lvm_cinder "$dev"
}

# nova-compute must start through the wrapper, which registers the
# shared_lvm volume driver with Nova and os-brick before Nova starts.
function start_shared_lvm_nova_compute {
    stop_process n-cpu
    run_process n-cpu \
        "$NOVA_BIN_DIR/nova-compute-shared-lvm --config-file $NOVA_CPU_CONF" \
        "$LIBVIRT_GROUP"
}

function create_shared_lvm_volume_type {
    local section=$SHARED_LVM_BACKEND_NAME
    if ! openstack volume type show "$section" >/dev/null 2>&1; then
        openstack volume type create --property \
            "volume_backend_name=$section" "$section"
    fi
}

if is_service_enabled cinder || is_service_enabled n-cpu; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing cinder-shared-lvm"
        install_shared_lvm
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        if is_service_enabled c-vol; then
            echo_summary "Preparing the shared VG and the cinder backend"
            configure_shared_lvm
        fi
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled c-vol c-api; then
            create_shared_lvm_volume_type
        fi
        if is_service_enabled n-cpu; then
            echo_summary "Restarting nova-compute through the wrapper"
            start_shared_lvm_nova_compute
        fi
    fi
    if [[ "$1" == "unstack" ]]; then
        dev=$(shared_lvm_lun_device)
        if [[ -n "$dev" ]]; then
            sudo vgchange --devices "$dev" -an "$SHARED_LVM_VG" || true
            sudo losetup -d "$dev"
        fi
    fi
    if [[ "$1" == "clean" ]]; then
        rm -f "$SHARED_LVM_LUN_FILE"
    fi
fi

$_XTRACE_SHARED_LVM
