"""smsrelay.smpp"""
