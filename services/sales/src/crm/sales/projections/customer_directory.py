"""The sales context's directory of customers (:mod:`crm.kernel.directory`): the commands
check the customers they name in it, and the lists filtered by a customer resolve merges
through it."""

from crm.kernel.directory import CustomerDirectory

CUSTOMER_DIRECTORY = CustomerDirectory("sales_customer_directory")
