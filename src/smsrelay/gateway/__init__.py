"""smsrelay.gateway"""
