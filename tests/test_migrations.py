"""Models and migrations must tell the same story: a model change without its migration fails."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from backend.infra.db import APP_LABEL, tortoise_config


async def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    apps_config = tortoise_config(database_url)["apps"]
    detector = MigrationAutodetector(Tortoise.apps, apps_config)
    pending = await detector.changes()
    described = [
        f"{writer.app_label}.{writer.name}: {[type(op).__name__ for op in writer.operations]}"
        for writer in pending
    ]
    assert not pending, (
        "models changed without a migration; run `.venv/bin/b2bc makemigrations` and commit it: "
        + "; ".join(described)
    )
    assert APP_LABEL in apps_config


def test_model_docstrings_have_no_semicolons() -> None:
    """Tortoise turns a model's docstring into a table comment, and its SQLite schema editor
    splits statements at semicolons: one in a docstring breaks the migration on SQLite."""
    offenders = [
        f"{model.__module__}.{model.__name__}"
        for model in Tortoise.apps[APP_LABEL].values()
        if ";" in (model.__doc__ or "") or ";" in (model._meta.table_description or "")
    ]
    assert offenders == []
