"""The `lims` command. Each command group lives in its own module and is registered here."""

from __future__ import annotations

import typer

from lims.cli import db_cmd, serve_cmd, verdict_cmd

app = typer.Typer(help="Kuaijian LIMS: food-safety rapid testing.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)

app.command("init")(db_cmd.init)
app.command("serve")(serve_cmd.serve)
app.add_typer(verdict_cmd.app, name="verdict")

from lims.cli import up_cmd  # noqa: E402

app.command("up")(up_cmd.up)

from lims.cli import demo_cmd  # noqa: E402

app.command("demo")(demo_cmd.demo)

from lims.cli import audit_cmd, backup_cmd, correct_cmd, user_cmd  # noqa: E402

app.add_typer(user_cmd.app, name="user")
app.add_typer(audit_cmd.app, name="audit")
app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
app.command("correct")(correct_cmd.correct)
app.command("void")(correct_cmd.void)

from lims.cli import results_cmd  # noqa: E402

app.add_typer(results_cmd.app, name="results")

from lims.cli import calibration_cmd, metering_cmd, metrology_cmd, qc_cmd, review_cmd  # noqa: E402

app.add_typer(metrology_cmd.app, name="metrology")
app.add_typer(qc_cmd.app, name="qc")
app.add_typer(calibration_cmd.app, name="calibration")
app.add_typer(review_cmd.app, name="review")

from lims.cli import release_cmd  # noqa: E402

app.add_typer(release_cmd.app, name="release")
app.add_typer(metering_cmd.app, name="metering")

from lims.cli import instruments_cmd  # noqa: E402

app.command("listen")(instruments_cmd.listen)
app.command("simulate")(instruments_cmd.simulate)
app.add_typer(instruments_cmd.instruments_app, name="instruments")
app.add_typer(instruments_cmd.journal_app, name="journal")
app.add_typer(instruments_cmd.quarantine_app, name="quarantine")

from lims.cli import cases_cmd, workflows_cmd  # noqa: E402

app.add_typer(cases_cmd.case_app, name="case")
app.add_typer(cases_cmd.alerts_app, name="alerts")
app.add_typer(workflows_cmd.grades_app, name="grades")
app.add_typer(workflows_cmd.events_app, name="events")
app.command("agreement")(workflows_cmd.agreement)
app.command("slip")(workflows_cmd.slip)
app.command("board")(workflows_cmd.board)
app.command("field-test")(workflows_cmd.field_test)

from lims.cli import bench_cmd, partition_cmd, rollups_cmd  # noqa: E402

app.command("bench")(bench_cmd.bench)
app.command("partition")(partition_cmd.partition)
app.add_typer(rollups_cmd.app, name="rollups")

from lims.cli import api_cmd  # noqa: E402

app.add_typer(api_cmd.app, name="api")

from lims.cli import samples_cmd  # noqa: E402

app.add_typer(samples_cmd.app, name="samples")

from lims.cli import batch_cmd  # noqa: E402

app.add_typer(batch_cmd.batch_app, name="batch")
app.add_typer(batch_cmd.readings_app, name="readings")

from lims.cli import setup_cmd  # noqa: E402

app.add_typer(setup_cmd.app, name="setup")

from lims.cli import places_cmd  # noqa: E402

app.add_typer(places_cmd.places_app, name="places")
app.add_typer(places_cmd.kits_app, name="kits")

from lims.cli import stall_cmd  # noqa: E402

app.add_typer(stall_cmd.app, name="stall")

from lims.cli import sync_cmd  # noqa: E402

app.add_typer(sync_cmd.app, name="sync")

from lims.cli import notices_cmd  # noqa: E402

app.add_typer(notices_cmd.app, name="notices")

from lims.cli import lab_cmd  # noqa: E402

app.add_typer(lab_cmd.app, name="lab")

from lims.cli import watch_cmd  # noqa: E402

lab_cmd.app.command("watch")(watch_cmd.watch)   # issue 19: kit lots and instrument clocks
