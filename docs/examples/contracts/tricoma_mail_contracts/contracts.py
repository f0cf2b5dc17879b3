"""The contracts app: its records (kept in memory to keep the example short) and a page for each,
with "Send by e-mail" and the contract's mail history."""
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import login_required

from tricoma_mail_plugin import RecordDescription, Reference, mail_history


@dataclass
class Contract:
    number: str
    customer: str
    email: str
    text: str
    sent_at: datetime | None = None


CONTRACTS = {"7": Contract("C-2026-007", "Erika Mustermann", "erika@example.test", "Maintenance contract\n")}

blueprint = Blueprint("tricoma_mail_contracts", __name__, url_prefix="/contracts", template_folder="templates")


def describe(contract_id: str) -> RecordDescription | None:
    """Title and page of a contract, or None when there is no such contract."""
    contract = CONTRACTS.get(contract_id)
    return RecordDescription(f"Contract {contract.number}", f"/contracts/{contract_id}") if contract else None


@blueprint.get("/<contract_id>")
@login_required
def page(contract_id: str):
    contract = CONTRACTS.get(contract_id) or abort(404)
    send_url = url_for("tricoma_mail_app_compose.dialog", reference=f"contract:{contract_id}", next=request.path)
    return render_template("tricoma_mail_contracts/contract.html", contract=contract, send_url=send_url,
                           history=mail_history(Reference("contract", contract_id)))
