"""The service desk's directory of customers (:mod:`crm.kernel.directory`): the commands
check the customers they name in it, and the ticket list filtered by a customer resolves
merges through it."""

from crm.kernel.directory import CustomerDirectory

CUSTOMER_DIRECTORY = CustomerDirectory("service_desk_customer_directory")
