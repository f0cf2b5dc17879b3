"""tricoma mail contracts: "Send by e-mail" for a small contracts app.

Only the hook implementations live here; the records and their page are in ``contracts.py``.
"""
from tricoma_mail_plugin import AttachmentData, ComposeContext, ReferenceType, hookimpl

from .contracts import CONTRACTS, blueprint, describe

__version__ = "0.1.0"


@hookimpl
def tricoma_mail_register_blueprints():
    return [blueprint]


@hookimpl
def tricoma_mail_register_reference_types():
    return [ReferenceType("contract", "Contract", describe)]


@hookimpl
def tricoma_mail_compose_context(reference, user):
    contract = CONTRACTS.get(reference.id) if reference.kind == "contract" else None
    if contract is None:
        return None  # another app's record, or no such contract
    return ComposeContext(
        to=(contract.email,),
        subject=f"Your contract {contract.number}",
        text=f"Dear {contract.customer},\n\nplease find your contract attached.\n",
        attachments=(AttachmentData(f"{contract.number}.txt", "text/plain", contract.text.encode()),),
    )


@hookimpl
def tricoma_mail_message_sent(outbox_item, reference):
    if reference is not None and reference.kind == "contract" and reference.id in CONTRACTS:
        CONTRACTS[reference.id].sent_at = outbox_item.smtp_accepted_at
