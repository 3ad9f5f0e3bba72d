"""Small SQL helpers shared by hot paths."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, router
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL


def column_in(model, column: str, ids: Iterable[int]) -> Q:
    """`column = ANY(%s)` on PostgreSQL: one array parameter instead of an IN list of 1,000
    placeholders, which psycopg's client-side binding has to split and PostgreSQL to parse."""
    ids = list(ids)
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": ids})
    sql = f'"{model._meta.db_table}"."{column}" = ANY(%s::bigint[])'
    return Q(RawSQL(sql, [ids], output_field=BooleanField()))  # noqa: S611 - ids are a parameter


def rows_update(model, objs: list, fields: list[str]) -> int:
    """Write `fields` of each row from its object in one `UPDATE … FROM (VALUES …)`: what `bulk_update` does,
    without the CASE per row and column whose building costs more than the query (webhook batches)."""
    if not objs:
        return 0
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    cast = "CAST(%s AS {})" if connection.vendor == "postgresql" else "%s{}"
    row = (
        "("
        + ", ".join(cast.format(f.db_type(connection) if connection.vendor == "postgresql" else "") for f in columns)
        + ")"
    )
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for obj in objs for f in columns]
    names = ", ".join(quote(f.column) for f in columns)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sql = (
        f"WITH v ({names}) AS (VALUES {', '.join([row] * len(objs))}) "  # noqa: S608 - names from the model
        f"UPDATE {table} SET {sets} FROM v WHERE {table}.{pk} = v.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def row_insert(obj):
    """INSERT one new row and set its primary key: what `save()` ends in, without what it does first (the
    signals, the update-or-insert decision, the same-merchant checks the caller has made). For the webhook
    request path, where that overhead was a third of the request."""
    meta = obj._meta
    fields = [field for field in meta.concrete_fields if not field.generated and field is not meta.auto_field]
    using = router.db_for_write(type(obj), instance=obj)
    manager = type(obj)._base_manager
    returned = manager._insert([obj], fields=fields, returning_fields=meta.db_returning_fields, using=using)
    for value, field in zip(returned[0], meta.db_returning_fields, strict=True):
        setattr(obj, field.attname, value)
    obj._state.adding, obj._state.db = False, using
    return obj
