"""The screens, and the one place that puts them in the menu."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_admin import Admin
from flask_admin.menu import MenuLink
from flask_babel import lazy_gettext as _l

from admin import context
from admin.entity import EntityModelView
from admin.views.activities import ActivityView, FollowUpStatisticsView
from admin.views.aftersales import ComplaintView, RepairView
from admin.views.approvals import ApprovalView, waiting_for_me
from admin.views.audit import AuditView
from admin.views.backup import BackupView
from admin.views.collections import CollectionsView, StatementView
from admin.views.contacts import ContactView
from admin.views.customers import CustomerView
from admin.views.dictionary import DictionaryView
from admin.views.duplicates import DuplicateView
from admin.views.follow_up import aside
from admin.views.imports import ImportView
from admin.views.knowledge import KnowledgeView, ticket_kb_box
from admin.views.messaging import MessageTemplateView, MessageView, SmsCentreView
from admin.views.orders import OrderView
from admin.views.payments import PaymentView
from admin.views.products import ProductCategoryView, ProductGroupView, ProductView
from admin.views.receivables import ReceivableView
from admin.views.recycle import RecycleBinView
from admin.views.roles import RolesView
from admin.views.sales import LeadView, OpportunityView, QuoteView
from admin.views.service import (
    ServiceConsoleView,
    ServiceStatisticsView,
    SlaPolicyView,
    TicketView,
)
from admin.views.settings import SettingsView
from admin.views.sfa import SfaEnrolmentView, SfaPlanView
from admin.views.sharing import SharingView
from admin.views.statistics import StatisticsView
from admin.views.tasks import TaskView
from admin.views.users import UserView


def register(admin: Admin) -> None:
    """Add every screen. Flask-Admin shows a menu item only where ``is_accessible`` says
    the logged-in user's role may go (the catalogue: whoever holds ``product.read`` …), so
    sales staff never see the system screens."""
    system = "System"  # the menu key; its shown name is translated below
    admin.add_view(CustomerView(name=_l("Customers"), endpoint="customers"))
    admin.add_view(SharingView(name=_l("Co-ownership requests"), endpoint="sharing"))
    admin.add_view(ContactView(name=_l("Contacts"), endpoint="contacts"))
    admin.add_view(ImportView(name=_l("Import"), endpoint="imports"))
    admin.add_view(DuplicateView(name=_l("Duplicates"), endpoint="duplicates"))
    follow_up = "Follow-up"  # shown as 跟进: activities, tasks, the calendar, statistics
    admin.add_view(ActivityView(name=_l("Activities"), endpoint="activities", category=follow_up))
    admin.add_view(TaskView(name=_l("Tasks"), endpoint="tasks", category=follow_up))
    calendar = PermittedLink(_l("Calendar"), "tasks.calendar", follow_up)
    admin.add_link(calendar.needing("task.read"))
    # SFA方案 and SFA执行序列: follow-up that runs by itself, step by step
    admin.add_view(SfaPlanView(name=_l("SFA plans"), endpoint="sfa_plans", category=follow_up))
    admin.add_view(
        SfaEnrolmentView(
            name=_l("SFA enrolments"), endpoint="sfa_enrolments", url="/sfa_enrolments",
            category=follow_up,
        )
    )  # fmt: skip
    admin.add_view(
        FollowUpStatisticsView(
            name=_l("Follow-up statistics"), endpoint="follow_up_statistics",
            url="/follow-up-statistics", category=follow_up,
        )
    )  # fmt: skip
    sms = "SMS centre"  # shown as 短信中心: compose, group sends, templates, the log
    admin.add_view(SmsCentreView(name=_l("Send SMS"), endpoint="sms", url="/sms", category=sms))
    admin.add_link(PermittedLink(_l("Group send"), "sms.group", sms).needing("message.group_send"))
    templates = MessageTemplateView(
        name=_l("Templates"), endpoint="message_templates", category=sms
    )
    admin.add_view(templates)
    admin.add_link(PermittedLink(_l("Unsent"), "sms.unsent", sms).needing("message.read"))
    admin.add_link(PermittedLink(_l("Replies"), "sms.replies", sms).needing("message.read"))
    opt_outs = PermittedLink(_l("Unsubscribe list"), "sms.opt_outs", sms)
    admin.add_link(opt_outs.needing("opt_out.read"))
    admin.add_view(MessageView(name=_l("Message log"), endpoint="messages", category=sms))
    catalogue = "Catalogue"  # shown as 产品
    sales = "Sales"  # shown as 销售
    entity_screens: list[EntityModelView] = [
        OpportunityView(name=_l("Opportunities"), endpoint="opportunities", category=sales),
        LeadView(name=_l("Leads"), endpoint="leads", category=sales),
        QuoteView(name=_l("Quotes"), endpoint="quotes", category=sales),
        OrderView(name=_l("Orders"), endpoint="orders", category=sales),
        ProductView(name=_l("Products"), endpoint="products", category=catalogue),
        ProductCategoryView(
            name=_l("Product categories"), endpoint="product_categories", category=catalogue
        ),
        ProductGroupView(name=_l("Product groups"), endpoint="product_groups", category=catalogue),
    ]
    for screen in entity_screens:
        admin.add_view(screen)
        if screen.endpoint == "opportunities":  # the board, beside the list in the menu
            board = PermittedLink(_l("Pipeline board"), "opportunities.board", sales)
            admin.add_link(board.needing("opportunity.read"))
        if screen.endpoint == "orders":  # 待我审批 beside the orders; its name counts them
            admin.add_view(ApprovalView(endpoint="approvals", category=sales))
            statistics = StatisticsView(
                name=_l("Sales statistics"), endpoint="statistics", category=sales
            )
            admin.add_view(statistics)  # 销售统计: the charts of seed 004's 统计分析
    finance = "Finance"  # shown as 财务: receivables, payments, statements, collections
    admin.add_view(ReceivableView(name=_l("Receivables"), endpoint="receivables", category=finance))
    admin.add_view(PaymentView(name=_l("Payments"), endpoint="payments", category=finance))
    statements = StatementView(
        name=_l("Statements of account"), endpoint="statements", category=finance
    )
    admin.add_view(statements)
    collections = CollectionsView(
        name=_l("Collection statistics"), endpoint="collections", category=finance
    )
    admin.add_view(collections)
    if admin.app is not None:  # the frame's badge: the steps awaiting the user
        admin.app.jinja_env.globals["approvals_waiting"] = waiting_for_me
        admin.app.jinja_env.globals["aside"] = aside  # a remark in the language's brackets
        admin.app.jinja_env.globals["can_do"] = context.can  # what crmkit lets the user do
    service = "Service"  # shown as 客户服务: the console, the queue, SLA policies, figures
    admin.add_view(
        ServiceConsoleView(
            name=_l("Service console"), endpoint="service_console", url="/service-console",
            category=service,
        )
    )  # fmt: skip
    admin.add_view(TicketView(name=_l("Ticket queue"), endpoint="tickets", category=service))
    admin.add_view(  # 投诉单 and 维修单: after-sales, beside the tickets they come from
        ComplaintView(name=_l("Complaints"), endpoint="complaints", category=service)
    )
    admin.add_view(RepairView(name=_l("Repair orders"), endpoint="repairs", category=service))
    # 知识库 (QA问答库) and 客户问答: the articles, and what customers asked
    knowledge = KnowledgeView(name=_l("Knowledge base"), endpoint="kb", url="/kb", category=service)
    admin.add_view(knowledge)
    questions = PermittedLink(_l("Customer questions"), "kb.questions", service)
    admin.add_link(questions.needing("qa_record.read"))
    if admin.app is not None:  # the ticket page's 知识库 box
        admin.app.jinja_env.globals["kb_ticket_box"] = ticket_kb_box
    admin.add_view(
        SlaPolicyView(
            name=_l("SLA policies"), endpoint="sla_policies", url="/sla-policies",
            category=service,
        )
    )  # fmt: skip
    admin.add_view(
        ServiceStatisticsView(
            name=_l("Service statistics"), endpoint="service_statistics",
            url="/service-statistics", category=service,
        )
    )  # fmt: skip
    # Not under 系统管理: salespeople and managers restore what was deleted in their scope.
    admin.add_view(RecycleBinView(name=_l("Recycle bin"), endpoint="recycle"))
    admin.add_view(UserView(name=_l("Users"), endpoint="users", category=system))
    admin.add_view(RolesView(name=_l("Roles"), endpoint="roles", category=system))
    dictionary = DictionaryView(name=_l("Data dictionary"), endpoint="dictionary", category=system)
    admin.add_view(dictionary)
    admin.add_view(AuditView(name=_l("Operation log"), endpoint="audit", category=system))
    admin.add_view(BackupView(name=_l("Backup"), endpoint="backup", category=system))
    admin.add_view(SettingsView(name=_l("Settings"), endpoint="settings", category=system))
    for key, shown in (
        (system, _l("System")),
        (catalogue, _l("Products")),
        (sales, _l("Sales")),
        (finance, _l("Finance")),
        (follow_up, _l("Follow-up")),
        (sms, _l("SMS centre")),
        (service, _l("Service")),
    ):
        menu = admin.get_category_menu_item(key)
        if menu is not None:
            menu.name = shown


class PermittedLink(MenuLink):
    """A menu link to a page of a screen, shown to whoever holds ``permission``."""

    def __init__(self, name: Any, endpoint: str, category: str) -> None:
        super().__init__(name, endpoint=endpoint, category=category)
        self.permission = ""

    def needing(self, permission: str) -> PermittedLink:
        self.permission = permission
        return self

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can(self.permission)
