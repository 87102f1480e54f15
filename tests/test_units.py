from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from projects.models import Unit
from tests.factories import UnitFactory


@pytest.fixture
def tree(db):
    county = UnitFactory(name="示范县", kind="county")
    town = UnitFactory(name="城关镇", kind="township", parent=county)
    village = UnitFactory(name="东风村", kind="village", parent=town)
    other_town = UnitFactory(name="河口乡", kind="township", parent=county)
    return county, town, village, other_town


def test_paths_and_depths_follow_the_tree(tree):
    county, town, village, _ = tree
    village.refresh_from_db()
    assert village.path == f"/{county.pk}/{town.pk}/{village.pk}/"
    assert village.depth == 2
    assert list(village.ancestors()) == [county, town]
    assert list(village.ancestors(include_self=True)) == [county, town, village]


def test_subtree_queries(tree):
    county, town, village, other_town = tree
    assert set(Unit.objects.subtree(county)) == {county, town, village, other_town}
    assert set(Unit.objects.subtree(town)) == {town, village}
    assert set(town.descendants()) == {village}
    assert county.contains(village) and not other_town.contains(village)


def test_moving_a_unit_moves_its_subtree(tree):
    county, town, village, other_town = tree
    town.parent = other_town
    town.save()
    village.refresh_from_db()
    assert village.path == f"/{county.pk}/{other_town.pk}/{town.pk}/{village.pk}/"
    assert village.depth == 3
    assert set(Unit.objects.subtree(other_town)) == {other_town, town, village}


def test_a_unit_cannot_move_under_its_own_subtree(tree):
    _, town, village, _ = tree
    town.parent = village
    with pytest.raises(ValidationError):
        town.full_clean()
