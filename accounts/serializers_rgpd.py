"""Input and output shapes of the RGPD's rights: deleting the account, exporting its data."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import DataExport
from accounts.serializers import StrictFieldsMixin


class AccountDeleteInputSerializer(StrictFieldsMixin, serializers.Serializer):
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        max_length=128,
        style={"input_type": "password"},
        help_text=(
            "Your password. Without it, the access token must come from a login of the last "
            "ACCOUNT_FRESH_LOGIN_MINUTES minutes."
        ),
    )


class DataExportSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataExport
        fields = [
            "id",
            "status",
            "progress",
            "size_bytes",
            "created_at",
            "ready_at",
            "expires_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "progress": {"help_text": "Percent of the sections written, 0 to 100."},
            "expires_at": {"help_text": "When the file is deleted (the link stops working)."},
        }


class ExportDownloadQuerySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The signed token of the mailed link.")
