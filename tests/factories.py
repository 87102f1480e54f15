from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from projects import services
from projects.models import Membership, Milestone, Project, Unit

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("pass12345")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"单位{n}")
    kind = "department"


def member(unit: Unit, role: str, **user_fields) -> User:
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, unit=unit, role=role)
    return user


def create_project(*, actor, lead_unit: Unit, **fields) -> Project:
    fields.setdefault("name", "测试项目")
    fields.setdefault("category", "transport")
    fields.setdefault("total_investment", Decimal("12000"))
    fields.setdefault("source", "government")
    return services.project_create(actor=actor, lead_unit=lead_unit, **fields)


def create_milestone(*, project: Project, actor, due_date: dt.date, **fields) -> Milestone:
    fields.setdefault("name", "开工")
    fields.setdefault("kind", "start")
    return services.milestone_create(project=project, actor=actor, due_date=due_date, **fields)
