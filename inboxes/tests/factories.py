import factory
from django.contrib.auth import get_user_model

from inboxes.models import Domain, Inbox, Membership, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"mail{n}.example.com")


class InboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inbox

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Inbox {n}")
    email = factory.Sequence(lambda n: f"inbox{n}@sendook.localhost")
