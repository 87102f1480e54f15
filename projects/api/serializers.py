"""Serializers of the API: thin, read from what the views hand them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.models import ApiToken, Membership, Unit


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
