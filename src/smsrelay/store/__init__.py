"""smsrelay.store"""
