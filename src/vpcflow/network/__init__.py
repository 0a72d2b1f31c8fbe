"""vpcflow.network: the VPC model, its loaders, DNS and the reachability engine.

Public surface:
    load_model(path) -> Model                 YAML file/folder, or describe-* JSON folder (plug-in)
    Model                                     resources + lookups by id and address (store.py)
    check_model(model)                        the validation pass (raises ModelError)
    resolve(model, vpc, name)                 DNS through the VPC's resolver (dns.py)
    evaluate_flow(model, src, dst_ip, ...)    per-ENI verdicts for one flow (reach.py)
    reach(model, src, dst, ...) -> Trace      the explained answer behind `vpcflow reach`
"""

from vpcflow.network.loaders import load_model
from vpcflow.network.reach import evaluate_flow
from vpcflow.network.store import Model
from vpcflow.network.validate import check_model

__all__ = ["Model", "check_model", "evaluate_flow", "load_model"]
