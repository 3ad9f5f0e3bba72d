"""Set-based inserts: COPY on PostgreSQL (ids reserved from the sequence first), bulk_create elsewhere."""

from __future__ import annotations

from django.db import connection, models


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def fast_insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """Insert new rows and set their primary keys, at close to the raw COPY rate on PostgreSQL.

    Field defaults and auto_now(_add) are applied through each field's pre_save, as a normal
    save would; no model save() runs (so nothing here may rely on it).
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    for obj, pk in zip(objs, _reserve_ids(model, len(objs)), strict=True):
        obj.pk = pk
        obj._state.adding = False
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
