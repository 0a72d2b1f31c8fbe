"""The model bench_reports.py gives explain and sg-suggest on the site lake is that VPC's own: the
interfaces generate.py writes records for, with their subnets and addresses."""

from __future__ import annotations

from ipaddress import ip_address

from bench.bench_reports import site_model
from bench.generate import build_site


def test_the_site_model_holds_the_sites_interfaces():
    site, model = build_site(1), site_model()
    by_id = {e.id: e for e in model.network_interfaces}
    ids = site.eni_ids.to_pylist()
    assert set(ids) <= set(by_id) and len(by_id) == len(ids) + 1  # and the NAT gateway's
    for e, eni_id in enumerate(ids):
        eni = by_id[eni_id]
        assert eni.security_group_ids
        assert str(eni.private_ip) == site.addresses[site.eni_v4(e)].as_py()
        assert eni.ipv6_addresses == (ip_address(site.addresses[site.eni_v6(e)].as_py()),)
        assert eni.subnet_id == f"subnet-{int(site.eni_subnet[e]):03d}"
        assert eni.private_ip in model.get(eni.subnet_id).cidr_block
