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
    for table in db.metadata.tables:
        assert table.startswith("hostapp_"), table
    for metadata in migration_metadata():
        for table in metadata.tables:
            assert table.startswith("tricoma_mail_"), table
