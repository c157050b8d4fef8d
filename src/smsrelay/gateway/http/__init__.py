"""smsrelay.gateway.http"""
