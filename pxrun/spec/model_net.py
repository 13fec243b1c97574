"""A container's network interface (`net0`..`net31`), typed after Proxmox's net[n] format."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from pxrun.spec.model_base import SpecModel
from pxrun.spec.rules import (
    BridgeName,
    IfaceName,
    IPv4Address,
    IPv4Config,
    IPv6Address,
    IPv6Config,
    MacAddress,
    Mtu,
    Rate,
    VlanId,
    split_list,
)


class Network(SpecModel):
    """One network interface. Unset options (None) are left to Proxmox's defaults."""

    name: IfaceName | None = None
    """Interface name inside the container; default eth<N> for slot net<N>."""
    bridge: BridgeName | None = None
    """Host bridge to attach to, e.g. vmbr0."""
    ip: IPv4Config | None = None
    """IPv4: dhcp, manual, or an address with prefix like 10.0.0.2/24."""
    gw: IPv4Address | None = None
    """IPv4 default gateway."""
    ip6: IPv6Config | None = None
    """IPv6: auto, dhcp, manual, or an address with prefix like fd00::2/64."""
    gw6: IPv6Address | None = None
    """IPv6 default gateway."""
    vlan: VlanId | None = None
    """VLAN tag (Proxmox's `tag`), 1-4094."""
    trunks: Annotated[list[VlanId] | None, BeforeValidator(split_list)] = None
    """VLAN ids passed through the interface."""
    mtu: Mtu | None = None
    """Maximum transfer unit, 64-65535."""
    rate: Rate | None = None
    """Rate limit in MB/s."""
    firewall: bool | None = None
    """Use this interface's firewall rules."""
    hwaddr: MacAddress | None = None
    """Fixed unicast MAC address; Proxmox generates one when unset."""
    link_down: bool | None = None
    """Disconnect the interface (like pulling the plug)."""
    host_managed: bool | None = None
    """PVE 9: the host, not the container, manages the IP configuration."""
