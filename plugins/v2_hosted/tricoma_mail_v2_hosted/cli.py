"""``flask v2-hosted …``: mark mailboxes as v2 (until the portal's import does it), move an
external mailbox into a hosted one, and run the push engine as a process of its own."""
from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app

from . import marks
from .move.copy_service import move_mailbox
from .push.engine import EngineTiming
from .push.watcher import Watcher
from .views import pages


@pages.cli.command("mark")
@click.argument("mailbox_id", type=int)
def mark_command(mailbox_id: int) -> None:
    """Open MAILBOX_ID in the v2 interface."""
    try:
        changed = marks.mark(mailbox_id, "cli")
    except LookupError:
        raise click.ClickException(f"there is no mailbox {mailbox_id}") from None
    click.echo(f"mailbox {mailbox_id} opens in v2" + ("" if changed else " (it did already)"))


@pages.cli.command("unmark")
@click.argument("mailbox_id", type=int)
def unmark_command(mailbox_id: int) -> None:
    """Open MAILBOX_ID in the v1 interface again."""
    changed = marks.unmark(mailbox_id)
    click.echo(f"mailbox {mailbox_id} opens in v1" + ("" if changed else " (it did already)"))


@pages.cli.command("list")
def list_command() -> None:
    """The mailboxes that open in v2."""
    for mailbox_id in marks.v2_mailbox_ids():
        click.echo(mailbox_id)


@pages.cli.command("move")
@click.argument("source_id", type=int)
@click.argument("target_id", type=int)
def move_command(source_id: int, target_id: int) -> None:
    """Copy every folder and message of mailbox SOURCE_ID into TARGET_ID (a hosted mailbox),
    with flags, internal dates and grants; SOURCE_ID is left untouched. Run it again after an
    interruption: it resumes and copies nothing twice."""
    bar = None
    try:
        def advance(folder: str, done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = click.progressbar(length=total, label="copying", show_pos=True)
                bar.__enter__()
            bar.label = folder
            bar.update(done - bar.pos)

        result = move_mailbox(source_id, target_id, advance, actor="cli")
    except LookupError as missing:
        raise click.ClickException(f"there is no mailbox {missing.args[0]}") from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for source, target in result.folders.items():
        click.echo(f"{source} -> {target}")
    click.echo(f"copied {result.copied}, already there {result.skipped}, grants added {result.grants}")


@pages.cli.command("watch")
@click.option("--catch-up/--no-catch-up", default=True,
              help="Sync each folder when its watcher (re)connects (default: yes).")
@click.option("--status-every", type=float, default=0, help="Print a status line every N seconds.")
@click.option("--renew-idle-after", type=float, default=EngineTiming.renew_idle_after,
              help="Seconds before leaving and re-entering IDLE (below the server's 30 minutes).")
@click.option("--poll-interval", type=float, default=EngineTiming.poll_interval,
              help="Seconds between polls of servers without IDLE.")
@click.option("--for-seconds", type=float, default=0, help="Stop after N seconds (default: run until stopped).")
def watch_command(catch_up: bool, status_every: float, renew_idle_after: float, poll_interval: float,
                  for_seconds: float) -> None:
    """Hold an IDLE connection to the INBOX of every v2 mailbox and sync on each change (the
    push engine as a process of its own; set TRICOMA_MAIL_V2_PUSH = "process" in the web app)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    timing = EngineTiming(renew_idle_after=renew_idle_after, poll_interval=poll_interval)
    watcher = Watcher(current_app._get_current_object(), sync_on_connect=catch_up, timing=timing)
    finished = threading.Event()
    if status_every > 0:
        threading.Thread(target=_print_status, args=(watcher, status_every, finished), daemon=True).start()
    timer = threading.Timer(for_seconds, watcher.stop) if for_seconds > 0 else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    # a SIGTERM (a service manager's stop) ends the watch gracefully: connections closed, the
    # lease handed on to another watcher at once (signals reach the main thread only)
    in_main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, lambda _signum, _frame: watcher.stop(0)) if in_main else None
    try:
        watcher.run()
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, before)
        if timer is not None:
            timer.cancel()
        finished.set()


def _print_status(watcher: Watcher, every: float, finished: threading.Event) -> None:
    while not finished.wait(every):
        stats = watcher.engine.stats
        click.echo(f"status watching={stats.watching} idling={stats.idling} polling={stats.polling} "
                   f"reconnects={stats.reconnects} changes={stats.changes}", err=True)
