"""smsrelay.engine"""
