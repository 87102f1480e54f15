"""Model constraint validation with all check constraints in one query.

Why this exists: ``full_clean()`` (every service write, every ModelForm) ends in Django's
``Model.validate_constraints``, which validates each ``CheckConstraint`` with ``Q.check``: one
``SELECT`` per constraint and, inside ``transaction.atomic`` (which is where the services write),
a ``SAVEPOINT`` / ``RELEASE SAVEPOINT`` pair around it, so three round trips per check constraint
per save. Measured: about 22 % of ``manage.py seed_demo --projects 12`` was spent there (the
projects and supervision models have 27 check constraints, up to 5 on one model).

``validate_constraints`` below does the same validation with one ``SELECT`` holding one boolean
column per check constraint, ``COALESCE(condition, true)`` exactly as ``Q.check`` filters on,
evaluated against the same ``_get_field_expression_map`` values; one savepoint around that one
query keeps ``Q.check``'s safety (a database error in it does not break the caller's
transaction). Unique and other constraints are validated as Django does. The errors raised are
the same ``ValidationError`` dict as Django's, in the same order. Whatever cannot be batched
safely falls back to the constraint's own ``validate()``, so its behaviour is Django's:

- a constraint using a field that is excluded (its ``F()`` cannot be resolved, a ``FieldError``:
  Django skips it, and so does its own ``validate()``, without a query);
- a ``CheckConstraint`` subclass with its own ``validate()``;
- a database without boolean expressions in ``COALESCE`` (Q.check does not wrap there either);
- an expression assigned to a field that cannot be bound (``F()`` of a field bound after it);
- any ``FieldError`` or ``DatabaseError`` from the batched query (each constraint is then checked
  on its own, and Django's ``Q.check`` logs and passes the ones the database cannot evaluate).

Models use it by assigning it in their class body, ``validate_constraints =
validate_constraints``; nothing about the models' bases or migrations changes.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING

from django.core.exceptions import FieldError, ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.db.models import BooleanField, CheckConstraint, Q, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db import models


def _holds_in_one_query(
    instance: models.Model,
    model_class: type[models.Model],
    constraints: Iterable[CheckConstraint],
    exclude: set[str] | None,
    using: str,
) -> dict[int, bool]:
    """Evaluate check constraints against the instance's values in one SELECT.

    Returns ``{id(constraint): holds}`` for the constraints evaluated; the ones missing are left
    to their own ``validate()``.
    """
    connection = connections[using]
    if not connection.features.supports_comparing_boolean_expr:
        return {}
    constraints = list(constraints)
    if not constraints:
        return {}
    # The same values CheckConstraint.validate() checks against, bound as annotations that are
    # not selected, exactly as Q.check() does.
    query = Query(None)
    against = instance._get_field_expression_map(meta=model_class._meta, exclude=exclude)
    if all(isinstance(value, Value) for value in against.values()):
        # Binding is the costly part in Python: bind only the fields the conditions name (an
        # unused annotation is not in the SQL anyway). Plain values only: an expression assigned
        # to a field (F("x") + 1) or a generated field may refer to other fields. A reference
        # missed here shows as a FieldError below, and that constraint goes to its own
        # validate(), which binds everything.
        used = {
            ref[0]
            for constraint in constraints
            for ref in instance._get_expr_references(constraint.condition)
        }
        against = {name: value for name, value in against.items() if name in used}
    try:
        for name, value in against.items():
            if not hasattr(value, "resolve_expression"):
                value = Value(value)
            query.add_annotation(value, name, select=False)
    except FieldError:
        # An expression assigned to a field refers to a field not bound (yet): Q.check() fails
        # the same way for each constraint, which its own validate() then skips.
        return {}
    batched: list[CheckConstraint] = []
    for constraint in constraints:
        # Q.check() filters on COALESCE(condition, true); select that instead, one column each.
        # Column aliases are not field names, so they cannot shadow a value above.
        expression = Coalesce(Q(constraint.condition), True, output_field=BooleanField())
        try:
            query.add_annotation(expression, f"_check_{len(batched)}")
        except FieldError:
            # It refers to an excluded (or unknown) field. Resolving fails before the query is
            # changed; the constraint's own validate() gets the same FieldError and skips it.
            continue
        batched.append(constraint)
    if not batched:
        return {}
    # Like Q.check(): a savepoint only when inside a transaction, so that a database error here
    # rolls back to it instead of aborting the caller's transaction. One for all constraints.
    in_transaction = connection.in_atomic_block
    try:
        with transaction.atomic(using=using) if in_transaction else nullcontext():
            row = query.get_compiler(using=using).execute_sql(SINGLE)
    except (DatabaseError, FieldError):
        # Let each constraint be validated (and, on a database error, logged) as Django does.
        return {}
    if row is None:  # not expected (no FROM, no WHERE), but then leave it all to Django
        return {}
    return {id(constraint): bool(holds) for constraint, holds in zip(batched, row, strict=True)}


def validate_constraints(self: models.Model, exclude: Iterable[str] | None = None) -> None:
    """Drop-in for ``Model.validate_constraints`` with one query for all check constraints.

    The loop and the error collection are copied from Django 5.2's
    ``Model.validate_constraints`` so that the ``ValidationError`` is the same.
    """
    constraints = self.get_constraints()
    using = router.db_for_write(self.__class__, instance=self)

    errors: dict = {}
    for model_class, model_constraints in constraints:
        batchable = [
            constraint
            for constraint in model_constraints
            # Only the stock validate() is replaced; a subclass's own validate() runs as is.
            if isinstance(constraint, CheckConstraint)
            and type(constraint).validate is CheckConstraint.validate
        ]
        holds = _holds_in_one_query(self, model_class, batchable, exclude, using)
        for constraint in model_constraints:
            try:
                if id(constraint) in holds:
                    # What CheckConstraint.validate() raises when Q.check() is False.
                    if not holds[id(constraint)]:
                        raise ValidationError(
                            constraint.get_violation_error_message(),
                            code=constraint.violation_error_code,
                        )
                else:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
            except ValidationError as e:
                if getattr(e, "code", None) == "unique" and len(constraint.fields) == 1:
                    errors.setdefault(constraint.fields[0], []).append(e)
                else:
                    errors = e.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
