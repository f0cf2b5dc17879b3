#!/usr/bin/env python3
"""Provisioning benchmark of the hosting stack (issue 11): how fast a new mailbox is live, and
how the stack does with 1,000 mailboxes.

Usage::

    .venv/bin/python bench/provision_bench.py [--first-logins 20] [--mailboxes 1000] [--postgres] [--keep]

What it does:

1. starts its own hosting stack (scripts/hostingstack.py: Postfix + Dovecot + OpenDKIM + NSD) in
   ``/tmp/tricoma-hostingstack-bench`` with port offset 500, reading a fresh portal database
   (SQLite file, or with ``--postgres`` a schema ``provision_bench`` in
   ``TRICOMA_TEST_DATABASE_URL`` / postgresql+psycopg://postgres@127.0.0.1:5432/test);
2. **create → first IMAP login**, ``--first-logins`` times, one after the other, as the portal does
   it: hash a new password, INSERT the mailbox and its address (state provisioning), then
   ``HostingStack.activate_mailbox`` (UPDATE active=1, home folder, IMAP LOGIN over STARTTLS with
   the new password, retried until it works). Timed from before the hash to the successful login;
   p50/p95 (nearest rank) against the issue's target of 10 s;
3. the alias lookup of Postfix at that small size: ``postmap -q`` (a process per lookup, as an
   admin would measure it) and the map's SQL query alone (the part that grows with the table);
4. **1,000 mailboxes with 2 addresses each in one run**: hash, INSERT in one transaction, then
   activate each (each proven by an IMAP login with its own password); then a sample is checked
   end to end (RCPT TO accepted for both addresses; unknown address refused);
5. the alias lookup again at that size, and the RCPT TO latency over SMTP.

Progress goes to stderr; the report (a table) to stdout.
"""
from __future__ import annotations

import argparse
import os
import random
import smtplib
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "portal")]

import hostingstack as stack_script
from sqlalchemy import create_engine, insert, text
from tricoma_portal.hosting.passwords import hash_password, new_password
from tricoma_portal.hosting.provisioning import HostingStack
from tricoma_portal.models import Alias, Base, Domain, Mailbox, Tenant

STATE_DIR = "/tmp/tricoma-hostingstack-bench"
PORT_OFFSET = 500
TARGET_SECONDS = 10.0
LOOKUP_SAMPLES = 50
DOMAINS = 10


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.daemons = stack_script.HostingStack(STATE_DIR, PORT_OFFSET)
        self.daemons.destroy()
        self.schema = None
        if args.postgres:
            url = os.environ.get("TRICOMA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
            self.schema = "provision_bench"
            self.admin = create_engine(url)
            with self.admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
            self.engine = self.admin.execution_options(schema_translate_map={None: self.schema})
        else:
            db_file = Path(STATE_DIR) / "db" / "portal.sqlite"
            db_file.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{db_file}"
            self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        self.daemons = stack_script.HostingStack(STATE_DIR, PORT_OFFSET, url, self.schema or "")
        self.rows: list[tuple[str, str]] = []

    def run(self) -> None:
        started = time.monotonic()
        self.daemons.start()
        log(f"stack up in {time.monotonic() - started:.2f} s ({self.daemons.database.kind})")
        self.client = HostingStack(STATE_DIR, self.engine)
        with self.engine.begin() as conn:
            self.tenant_id = conn.execute(insert(Tenant).values(name="Bench", contact_email="b@bench.test")).inserted_primary_key[0]
            self.domains = [f"bench{n}.test" for n in range(DOMAINS)]
            conn.execute(insert(Domain), [{"name": d, "active": 1, "tenant_id": self.tenant_id, "state": "active"}
                                          for d in self.domains])  # fmt: skip
        self.first_logins()
        small = self.alias_lookups(f"at {self.args.first_logins} mailboxes")
        self.bulk()
        self.alias_lookups(f"at {self.args.first_logins + self.args.mailboxes} mailboxes", baseline=small)
        self.rcpt_latency()
        self.report()

    # ---- 2: create -> first login ----------------------------------------------------------

    def first_logins(self) -> None:
        n = self.args.first_logins
        log(f"create -> first IMAP login, {n} mailboxes ...")
        totals, hashes, inserts, activations = [], [], [], []
        for i in range(n):
            t0 = time.perf_counter()
            password = new_password()
            hashed = hash_password(password)
            t1 = time.perf_counter()
            mailbox_id = self.insert_mailboxes([(self.domains[0], f"first{i}", hashed)])[0]
            t2 = time.perf_counter()
            self.client.activate_mailbox(mailbox_id, password=password)
            t3 = time.perf_counter()
            totals.append(t3 - t0)
            hashes.append(t1 - t0)
            inserts.append(t2 - t1)
            activations.append(t3 - t2)
        self.first = {"total": totals, "hash": hashes, "insert": inserts, "activate": activations}

    # ---- 4: 1,000 mailboxes ----------------------------------------------------------------

    def bulk(self) -> None:
        n = self.args.mailboxes
        log(f"{n} mailboxes with 2 addresses each: hashing ...")
        t0 = time.perf_counter()
        plan = []
        for i in range(n):
            password = new_password()
            plan.append((self.domains[i % DOMAINS], f"user{i:04d}", password, hash_password(password)))
        t1 = time.perf_counter()
        log("inserting ...")
        ids = self.insert_mailboxes([(d, local, hashed) for d, local, _, hashed in plan])
        t2 = time.perf_counter()
        log("activating (each proven by an IMAP login with its own password) ...")
        activations = []
        for mailbox_id, (_, _, password, _) in zip(ids, plan, strict=True):
            activations.append(self.client.activate_mailbox(mailbox_id, password=password))
        t3 = time.perf_counter()
        self.bulk_figures = {"mailboxes": n, "hash": t1 - t0, "insert": t2 - t1, "activate": t3 - t2,
                             "activations": activations, "total": t3 - t0}  # fmt: skip
        self.sample = random.Random(11).sample(plan, k=min(LOOKUP_SAMPLES, n))
        self.check_sample()

    def insert_mailboxes(self, boxes: list[tuple[str, str, str]]) -> list[int]:
        """INSERT mailboxes (state provisioning, inactive) with two addresses each, in one
        transaction; returns their ids."""
        ids = []
        with self.engine.begin() as conn:
            for domain, local, hashed in boxes:
                ids.append(conn.execute(insert(Mailbox).values(
                    domain=domain, local_part=local, password_hash=hashed, active=0,
                    tenant_id=self.tenant_id, state="provisioning")).inserted_primary_key[0])
            conn.execute(insert(Alias), [
                {"address": address, "mailbox_id": mailbox_id, "active": 1, "tenant_id": self.tenant_id}
                for mailbox_id, (domain, local, _) in zip(ids, boxes, strict=True)
                for address in (f"{local}@{domain}", f"{local}.info@{domain}")])
        return ids

    def check_sample(self) -> None:
        with smtplib.SMTP(stack_script.HOST, self.daemons.ports["smtp"], timeout=10) as smtp:
            smtp.ehlo("bench.example")
            smtp.mail("b@bench.example")
            for domain, local, _, _ in self.sample:
                for address in (f"{local}@{domain}", f"{local}.info@{domain}"):
                    code, reply = smtp.rcpt(address)
                    if code != 250:
                        raise SystemExit(f"RCPT {address} refused: {code} {reply!r}")
            code, _ = smtp.rcpt(f"nobody@{self.domains[0]}")
            if code < 500:
                raise SystemExit(f"unknown address accepted: {code}")
        self.rows.append(("sample check", f"{2 * len(self.sample)} addresses accepted at RCPT, unknown refused"))

    # ---- 3 and 5: Postfix's alias lookup ---------------------------------------------------

    def alias_lookups(self, label: str, baseline: dict[str, float] | None = None) -> dict[str, float]:
        db = self.daemons.database
        map_file = self.daemons.paths.postfix_dir / f"{db.kind}-aliases.cf"
        with self.engine.connect() as conn:
            addresses = [row[0] for row in conn.execute(text(f"SELECT address FROM {db.table('aliases')}"))]
        keys = random.Random(len(addresses)).sample(addresses, k=min(LOOKUP_SAMPLES, len(addresses)))
        postmap, query = [], []
        sql = stack_script.postfix_map_queries(db)["aliases"].replace("'%s'", ":key")
        for key in keys:
            t0 = time.perf_counter()
            result = subprocess.run(["postmap", "-c", str(self.daemons.paths.postfix_dir), "-q", key,
                                     f"{db.kind}:{map_file}"], capture_output=True, text=True, check=False)  # fmt: skip
            postmap.append(time.perf_counter() - t0)
            if result.returncode != 0 or "@" not in result.stdout:
                raise SystemExit(f"postmap -q {key} found nothing: {result.stdout}{result.stderr}")
        with self.engine.connect() as conn:
            for key in keys:
                t0 = time.perf_counter()
                conn.execute(text(sql), {"key": key}).fetchall()
                query.append(time.perf_counter() - t0)
        figures = {"postmap": statistics.median(postmap), "query": statistics.median(query), "rows": len(addresses)}
        self.rows.append((f"alias lookup {label} ({len(addresses)} aliases)",
                          f"postmap -q median {figures['postmap'] * 1000:.1f} ms; the SQL query alone "
                          f"median {figures['query'] * 1000:.2f} ms"
                          + (f" (was {baseline['query'] * 1000:.2f} ms at {baseline['rows']})" if baseline else "")))
        return figures

    def rcpt_latency(self) -> None:
        times = []
        with smtplib.SMTP(stack_script.HOST, self.daemons.ports["smtp"], timeout=10) as smtp:
            smtp.ehlo("bench.example")
            smtp.mail("b@bench.example")
            for domain, local, _, _ in self.sample:
                t0 = time.perf_counter()
                smtp.rcpt(f"{local}.info@{domain}")
                times.append(time.perf_counter() - t0)
        self.rows.append((f"RCPT TO (alias) over SMTP at {self.args.first_logins + self.args.mailboxes} mailboxes",
                          f"median {statistics.median(times) * 1000:.1f} ms, p95 {percentile(times, 0.95) * 1000:.1f} ms"))

    # ---- report ----------------------------------------------------------------------------

    def report(self) -> None:
        f = self.first

        def ms(values: list[float], share: float) -> str:
            return f"{percentile(values, share) * 1000:.0f} ms"

        p95 = percentile(f["total"], 0.95)
        rows = [
            (f"create -> first IMAP login, {len(f['total'])} mailboxes",
             (f"p50 {ms(f['total'], 0.5)}, p95 {ms(f['total'], 0.95)}, max {max(f['total']) * 1000:.0f} ms "
              f"(target {TARGET_SECONDS:.0f} s: {'PASS' if p95 <= TARGET_SECONDS else 'FAIL'})")),
            ("  of which: hash password (SHA512-CRYPT)", f"p50 {ms(f['hash'], 0.5)}"),
            ("  of which: INSERT mailbox + address", f"p50 {ms(f['insert'], 0.5)}"),
            ("  of which: activate (UPDATE + IMAP STARTTLS LOGIN)", f"p50 {ms(f['activate'], 0.5)}, p95 {ms(f['activate'], 0.95)}"),
        ]  # fmt: skip
        b = self.bulk_figures
        rows += [
            (f"{b['mailboxes']} mailboxes x 2 addresses, one run", f"{b['total']:.1f} s in all"),
            ("  hash passwords", f"{b['hash']:.1f} s"),
            ("  INSERT (one transaction)", f"{b['insert']:.2f} s"),
            ("  activate each, IMAP login proven", (f"{b['activate']:.1f} s (per mailbox p50 "
             f"{ms(b['activations'], 0.5)}, p95 {ms(b['activations'], 0.95)})")),
        ]
        rows += self.rows
        width = max(len(r[0]) for r in rows)
        print(f"\nprovision_bench on {self.daemons.database.kind} (Postfix + Dovecot + OpenDKIM + NSD, 127.0.0.1)\n")
        print(f"{'what':<{width}} | result")
        print(f"{'-' * width}-|-{'-' * 60}")
        for what, result in rows:
            print(f"{what:<{width}} | {result}")

    def close(self) -> None:
        if self.args.keep:
            log(f"kept: stack running in {STATE_DIR}")
            return
        self.daemons.destroy()
        if self.schema:
            with self.admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first-logins", type=int, default=20)
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="the portal's tables on PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args()
    bench = Bench(args)
    try:
        bench.run()
    finally:
        bench.close()


if __name__ == "__main__":
    main()
