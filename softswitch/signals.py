"""Receivers that tell the SIP engine about configuration changes (docs/adr/0002)."""

from softswitch.models import MappingGateway, Phone, RoutingGateway
from vosadmin.core.notify import watch_config_model

watch_config_model(Phone, "phone")
watch_config_model(MappingGateway, "mapping_gateway")
watch_config_model(RoutingGateway, "routing_gateway")
