"""Serializers of the API: thin, read from what the views hand them."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils.formatting import lazy_format

from projects.models import ApiToken, Membership, Unit
from tracker.dates import validate_plausible_date

# The longest free text a request may carry in one field (about ten printed pages of Chinese).
TEXT_MAX_LENGTH = 20_000


def _harden(field: serializers.Field) -> None:
    """Bound free text and keep dates in the plausible window (tracker.dates)."""
    if field.read_only:
        return
    if isinstance(field, serializers.CharField) and field.max_length is None:
        field.max_length = TEXT_MAX_LENGTH
        message = lazy_format(field.error_messages["max_length"], max_length=TEXT_MAX_LENGTH)
        field.validators.append(MaxLengthValidator(TEXT_MAX_LENGTH, message=message))
    elif isinstance(field, serializers.DateField):
        if validate_plausible_date not in field.validators:
            field.validators.append(validate_plausible_date)
    elif isinstance(field, serializers.ListField):
        _harden(field.child)


class StrictInput:
    """What every request serializer of the API is: a field it does not know is an error (a
    typo such as ``totla_investment`` must not be a silent no-op), free text is bounded, and
    dates lie in the plausible window."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            _harden(field)
        return fields

    def run_validation(self, data=serializers.empty):
        if data is None and self.parent is None:
            # DRF's own answer to a body of ``null`` is in English and cannot be translated.
            raise serializers.ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        _("No data was sent: send the fields as a JSON object.")
                    ]
                },
                code="null",
            )
        return super().run_validation(data)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                message = _("There is no such field here, or it cannot be changed this way.")
                raise serializers.ValidationError({str(key): [message] for key in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictInput, serializers.Serializer):
    pass


class StrictModelSerializer(StrictInput, serializers.ModelSerializer):
    pass


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (documents projects.api.errors)."""

    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class UnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "name",
            "short_name",
            "kind",
            "kind_display",
            "parent",
            "path",
            "depth",
            "code",
            "sort_order",
            "is_active",
        ]
        read_only_fields = fields


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "name", "kind", "path"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    unit = UnitRefSerializer(read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = Membership
        fields = ["unit", "role", "role_display"]
        read_only_fields = fields


class TokenInfoSerializer(serializers.ModelSerializer):
    scope = serializers.ChoiceField(choices=["read", "read-write"], read_only=True)

    class Meta:
        model = ApiToken
        fields = ["name", "prefix", "scope", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The caller: the user, their memberships, and how they authenticated."""

    full_name = serializers.CharField(source="get_full_name", read_only=True)
    memberships = serializers.SerializerMethodField()
    scope = serializers.SerializerMethodField(
        help_text="read or read-write for an API token; session for the browser."
    )
    token = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "full_name", "is_superuser", "memberships", "scope", "token"]
        read_only_fields = fields

    def _token(self) -> ApiToken | None:
        auth = self.context["request"].auth
        return auth if isinstance(auth, ApiToken) else None

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, user) -> list[dict]:
        return MembershipSerializer(self.context["memberships"], many=True).data

    def get_scope(self, user) -> str:
        token = self._token()
        return token.scope if token is not None else "session"

    @extend_schema_field(TokenInfoSerializer(allow_null=True))
    def get_token(self, user) -> dict | None:
        token = self._token()
        return TokenInfoSerializer(token).data if token is not None else None
