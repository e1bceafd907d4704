"""Factories of the notifications tests (factory_boy). Events are not built by hand: tests send
them through ``notify`` (the one door), which also writes the outbox and the stream."""

from __future__ import annotations

import factory

from notifications.models import Device
from tests.accounts.factories import UserFactory


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    user = factory.SubFactory(UserFactory)
    platform = Device.Platform.ANDROID
    token = factory.Sequence(lambda n: f"fcm-token-{n:04d}")
