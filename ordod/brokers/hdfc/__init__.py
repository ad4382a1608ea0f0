"""HDFC Securities InvestRight Open API: orders by ``security_id`` from the security master,
tagged with ``external_reference_number``, daily login by password and OTP."""
