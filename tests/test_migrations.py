"""The migrations create exactly the tables the models describe (host, core and plugins)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hostapp.extensions import db
from tricoma_mail_plugin import migration_include_object, migration_metadata


def test_migrated_schema_matches_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": migration_include_object})
            differences = compare_metadata(context, [db.metadata, *migration_metadata()])
    assert differences == []


def test_every_table_has_its_owner_prefix(app):
    from tricoma_mail_plugin.models import Base

    for table in db.metadata.tables:
        assert table.startswith("hostapp_"), table
    with app.app_context():
        plugin_sets = [m for m in migration_metadata() if m is not Base.metadata]
    for table in Base.metadata.tables:
        assert table.startswith("tricoma_mail_"), table
    for metadata in plugin_sets:  # each plugin's tables carry its own name
        for table in metadata.tables:
            assert not table.startswith(("tricoma_mail_", "hostapp_")), table
