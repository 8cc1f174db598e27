"""Kafka through aiokafka: the relay's publisher and the bus settings."""
