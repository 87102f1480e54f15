"""factory_boy factories for the domain's objects. Objects with rules of their own (projects,
milestones, ledger issues) are made through their services, as users make them, so that their
history, tallies and checks are what production would have."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from projects import services
from projects.models import Leader, Membership, Milestone, Project, Unit
from supervision.issues import services as ledger
from supervision.models import Issue, IssueCategory, IssueSource, RankingScheme, SchemeMetric

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


class LeaderFactory(factory.django.DjangoModelFactory):
    """A county leader (包联领导) as projects name them, not a user."""

    class Meta:
        model = Leader

    name = factory.Sequence(lambda n: f"领导{n}")
    title = "副县长"
    unit = factory.SubFactory(UnitFactory, kind="county")


class RankingSchemeFactory(factory.django.DjangoModelFactory):
    """A monthly ranking of a county's departments by red cards (weight 1) and investment
    completion (weight 2); ``metrics=[(metric, weight), ...]`` for others."""

    class Meta:
        model = RankingScheme
        skip_postgeneration_save = True

    name = "县直部门月度排名"
    parent_unit = factory.SubFactory(UnitFactory, kind="county")
    child_kinds = factory.LazyFunction(lambda: ["department"])
    cadence = "month"
    starts_on = dt.date(2026, 1, 1)

    @factory.post_generation
    def metrics(self, create, extracted, **kwargs):
        if not create:
            return
        for metric, weight in extracted or [("red_cards", 1), ("investment_rate", 2)]:
            SchemeMetric.objects.create(scheme=self, metric=metric, weight=weight)


class IssueFactory(factory.django.DjangoModelFactory):
    """An issue on the supervision ledger, raised by ``actor`` (a supervisor over ``unit``)
    through the ledger's service, due ten days from today."""

    class Meta:
        model = Issue

    title = "征地补偿款未兑付"
    source = IssueSource.UPPER
    category = IssueCategory.LAND_ACQUISITION
    requirement = "月底前完成兑付"
    deadline = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return ledger.issue_raise(**kwargs)
