"""smsrelay.connectors"""
