"""smsrelay.domain"""
