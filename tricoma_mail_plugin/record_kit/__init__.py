"""The record kit: what an ERP app that keeps records (invoices, orders) and sends them by e-mail
needs, so that the app itself is a declaration and its words.

- ``kinds``: the declaration (:class:`~.kinds.RecordKind`); ``tables`` and ``table_migration``:
  the kind's tables and their first migration; ``store``: customers, records, numbering, "sent";
  ``amounts`` and ``formatting``: lines, taxes, totals, money and dates per language;
- ``record_mail``: mail templates per language that admins edit, the compose pre-fill;
  ``record_pdf``: the PDF; ``words``: the app's wording of the kit's texts;
- ``record_pages``, ``template_pages``, ``record_forms`` and ``page_helpers``: the pages (list,
  detail with the send button and the mail history, create, customers, the admins' mail
  templates); ``demo``: demo data;
- ``kit``: :class:`~.kit.RecordApp`, a kind at work, with the hooks of its plugin.

It sits beside ``records/`` (references and mail links, which sending and the mail pages use)
and above it: nothing in core but the plugin API (the root ``__init__``) imports the kit.
"""
