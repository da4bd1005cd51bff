from __future__ import annotations

from pkgutil import extend_path
__path__ = extend_path(__path__, __name__)

import abc
import builtins
import datetime
import enum
import typing

import jsii
import publication
import typing_extensions

from jsii._type_checking import cached_type_hints, check_type


from ._jsii import *

class _LazyImport:
    def __init__(self, module_name: str) -> None:
        self._module_name = module_name
        self._module: typing.Any = None
    def __getattr__(self, name: str) -> typing.Any:
        if self._module is None:
            import importlib
            self._module = importlib.import_module(self._module_name)
        return getattr(self._module, name)

if typing.TYPE_CHECKING:

    import cdk8s as _cdk8s_d3d9af27
    import constructs as _constructs_77d1e7e8
else:

    _cdk8s_d3d9af27 = _LazyImport("cdk8s")
    _constructs_77d1e7e8 = _LazyImport("constructs")


class ClusterSecretStore(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="ioexternal-secrets.ClusterSecretStore",
):
    '''ClusterSecretStore represents a secure external location for storing secrets, which can be referenced as part of ``storeRef`` fields.

    :schema: ClusterSecretStore
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ClusterSecretStoreSpec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ClusterSecretStore" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param metadata: 
        :param spec: SecretStoreSpec defines the desired state of SecretStore.
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8dd63b4b951d1c0f1810393f2ea2739eb3c8df2dbba5c1c17c9369fa23105354)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ClusterSecretStoreProps(metadata=metadata, spec=spec)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ClusterSecretStoreSpec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ClusterSecretStore".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param metadata: 
        :param spec: SecretStoreSpec defines the desired state of SecretStore.
        '''
        props = ClusterSecretStoreProps(metadata=metadata, spec=spec)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ClusterSecretStore".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreProps",
    jsii_struct_bases=[],
    name_mapping={"metadata": "metadata", "spec": "spec"},
)
class ClusterSecretStoreProps:
    def __init__(
        self,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ClusterSecretStoreSpec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ClusterSecretStore represents a secure external location for storing secrets, which can be referenced as part of ``storeRef`` fields.

        :param metadata: 
        :param spec: SecretStoreSpec defines the desired state of SecretStore.

        :schema: ClusterSecretStore
        '''
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if isinstance(spec, dict):
            spec = ClusterSecretStoreSpec(**spec)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__e52cd74f3e3dc5a6f5e0e0439c1ee7ea1bd2ae23d61a00f1d7d48f492e9adc87)
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if metadata is not None:
            self._values["metadata"] = metadata
        if spec is not None:
            self._values["spec"] = spec

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ClusterSecretStore#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    @builtins.property
    def spec(self) -> typing.Optional["ClusterSecretStoreSpec"]:
        '''SecretStoreSpec defines the desired state of SecretStore.

        :schema: ClusterSecretStore#spec
        '''
        result = self._values.get("spec")
        return typing.cast(typing.Optional["ClusterSecretStoreSpec"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreProps(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpec",
    jsii_struct_bases=[],
    name_mapping={
        "provider": "provider",
        "conditions": "conditions",
        "controller": "controller",
        "refresh_interval": "refreshInterval",
        "retry_settings": "retrySettings",
    },
)
class ClusterSecretStoreSpec:
    def __init__(
        self,
        *,
        provider: typing.Union["ClusterSecretStoreSpecProvider", typing.Dict[builtins.str, typing.Any]],
        conditions: typing.Optional[typing.Sequence[typing.Union["ClusterSecretStoreSpecConditions", typing.Dict[builtins.str, typing.Any]]]] = None,
        controller: typing.Optional[builtins.str] = None,
        refresh_interval: typing.Optional["ClusterSecretStoreSpecRefreshInterval"] = None,
        retry_settings: typing.Optional[typing.Union["ClusterSecretStoreSpecRetrySettings", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''SecretStoreSpec defines the desired state of SecretStore.

        :param provider: Used to configure the provider. Only one provider may be set
        :param conditions: Used to constrain a ClusterSecretStore to specific namespaces. Relevant only to ClusterSecretStore.
        :param controller: Used to select the correct ESO controller (think: ingress.ingressClassName) The ESO controller is instantiated with a specific controller name and filters ES based on this property.
        :param refresh_interval: Used to configure store refresh interval. Accepts either an integer number of seconds (legacy) or a Go duration string such as "1h" or "5m". Empty or 0 will default to the controller config.
        :param retry_settings: Used to configure HTTP retries on failures.

        :schema: ClusterSecretStoreSpec
        '''
        if isinstance(provider, dict):
            provider = ClusterSecretStoreSpecProvider(**provider)
        if isinstance(retry_settings, dict):
            retry_settings = ClusterSecretStoreSpecRetrySettings(**retry_settings)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__57b6b1dbca3a9f2481bd32974c96162d85bfa5e7fd9e1324c70c72f4c047323e)
            check_type(argname="argument provider", value=provider, expected_type=type_hints["provider"])
            check_type(argname="argument conditions", value=conditions, expected_type=type_hints["conditions"])
            check_type(argname="argument controller", value=controller, expected_type=type_hints["controller"])
            check_type(argname="argument refresh_interval", value=refresh_interval, expected_type=type_hints["refresh_interval"])
            check_type(argname="argument retry_settings", value=retry_settings, expected_type=type_hints["retry_settings"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "provider": provider,
        }
        if conditions is not None:
            self._values["conditions"] = conditions
        if controller is not None:
            self._values["controller"] = controller
        if refresh_interval is not None:
            self._values["refresh_interval"] = refresh_interval
        if retry_settings is not None:
            self._values["retry_settings"] = retry_settings

    @builtins.property
    def provider(self) -> "ClusterSecretStoreSpecProvider":
        '''Used to configure the provider.

        Only one provider may be set

        :schema: ClusterSecretStoreSpec#provider
        '''
        result = self._values.get("provider")
        assert result is not None, "Required property 'provider' is missing"
        return typing.cast("ClusterSecretStoreSpecProvider", result)

    @builtins.property
    def conditions(
        self,
    ) -> typing.Optional[typing.List["ClusterSecretStoreSpecConditions"]]:
        '''Used to constrain a ClusterSecretStore to specific namespaces.

        Relevant only to ClusterSecretStore.

        :schema: ClusterSecretStoreSpec#conditions
        '''
        result = self._values.get("conditions")
        return typing.cast(typing.Optional[typing.List["ClusterSecretStoreSpecConditions"]], result)

    @builtins.property
    def controller(self) -> typing.Optional[builtins.str]:
        '''Used to select the correct ESO controller (think: ingress.ingressClassName) The ESO controller is instantiated with a specific controller name and filters ES based on this property.

        :schema: ClusterSecretStoreSpec#controller
        '''
        result = self._values.get("controller")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def refresh_interval(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecRefreshInterval"]:
        '''Used to configure store refresh interval.

        Accepts either an integer number
        of seconds (legacy) or a Go duration string such as "1h" or "5m". Empty or
        0 will default to the controller config.

        :schema: ClusterSecretStoreSpec#refreshInterval
        '''
        result = self._values.get("refresh_interval")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecRefreshInterval"], result)

    @builtins.property
    def retry_settings(self) -> typing.Optional["ClusterSecretStoreSpecRetrySettings"]:
        '''Used to configure HTTP retries on failures.

        :schema: ClusterSecretStoreSpec#retrySettings
        '''
        result = self._values.get("retry_settings")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecRetrySettings"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecConditions",
    jsii_struct_bases=[],
    name_mapping={
        "namespace_regexes": "namespaceRegexes",
        "namespaces": "namespaces",
        "namespace_selector": "namespaceSelector",
    },
)
class ClusterSecretStoreSpecConditions:
    def __init__(
        self,
        *,
        namespace_regexes: typing.Optional[typing.Sequence[builtins.str]] = None,
        namespaces: typing.Optional[typing.Sequence[builtins.str]] = None,
        namespace_selector: typing.Optional[typing.Union["ClusterSecretStoreSpecConditionsNamespaceSelector", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ClusterSecretStoreCondition describes a condition by which to choose namespaces to process ExternalSecrets in for a ClusterSecretStore instance.

        :param namespace_regexes: Choose namespaces by using regex matching.
        :param namespaces: Choose namespaces by name.
        :param namespace_selector: Choose namespace using a labelSelector.

        :schema: ClusterSecretStoreSpecConditions
        '''
        if isinstance(namespace_selector, dict):
            namespace_selector = ClusterSecretStoreSpecConditionsNamespaceSelector(**namespace_selector)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__235a3ed3597539d23562330d694072420f7ed77b81205a238ec5e46d02a8cbd8)
            check_type(argname="argument namespace_regexes", value=namespace_regexes, expected_type=type_hints["namespace_regexes"])
            check_type(argname="argument namespaces", value=namespaces, expected_type=type_hints["namespaces"])
            check_type(argname="argument namespace_selector", value=namespace_selector, expected_type=type_hints["namespace_selector"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if namespace_regexes is not None:
            self._values["namespace_regexes"] = namespace_regexes
        if namespaces is not None:
            self._values["namespaces"] = namespaces
        if namespace_selector is not None:
            self._values["namespace_selector"] = namespace_selector

    @builtins.property
    def namespace_regexes(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Choose namespaces by using regex matching.

        :schema: ClusterSecretStoreSpecConditions#namespaceRegexes
        '''
        result = self._values.get("namespace_regexes")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def namespaces(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Choose namespaces by name.

        :schema: ClusterSecretStoreSpecConditions#namespaces
        '''
        result = self._values.get("namespaces")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def namespace_selector(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecConditionsNamespaceSelector"]:
        '''Choose namespace using a labelSelector.

        :schema: ClusterSecretStoreSpecConditions#namespaceSelector
        '''
        result = self._values.get("namespace_selector")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecConditionsNamespaceSelector"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecConditions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecConditionsNamespaceSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ClusterSecretStoreSpecConditionsNamespaceSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    ) -> None:
        '''Choose namespace using a labelSelector.

        :param match_expressions: matchExpressions is a list of label selector requirements. The requirements are ANDed.
        :param match_labels: matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is equivalent to an element of matchExpressions, whose key field is "key", the operator is "In", and the values array contains only "value". The requirements are ANDed.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__a356f991ef23e488a604543e6e29b2de00e3322f1615dcdc4c4cd56ec61b5901)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions"]]:
        '''matchExpressions is a list of label selector requirements.

        The requirements are ANDed.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(
        self,
    ) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''matchLabels is a map of {key,value} pairs.

        A single {key,value} in the matchLabels
        map is equivalent to an element of matchExpressions, whose key field is "key", the
        operator is "In", and the values array contains only "value". The requirements are ANDed.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecConditionsNamespaceSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: builtins.str,
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''A label selector requirement is a selector that contains values, a key, and an operator that relates the key and values.

        :param key: key is the label key that the selector applies to.
        :param operator: operator represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists and DoesNotExist.
        :param values: values is an array of string values. If the operator is In or NotIn, the values array must be non-empty. If the operator is Exists or DoesNotExist, the values array must be empty. This array is replaced during a strategic merge patch.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__d0cf7b6aba7042541ed027a83c2a3602ec694bb8191253c6fb5470aea9cedde0)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''key is the label key that the selector applies to.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(self) -> builtins.str:
        '''operator represents a key's relationship to a set of values.

        Valid operators are In, NotIn, Exists and DoesNotExist.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''values is an array of string values.

        If the operator is In or NotIn,
        the values array must be non-empty. If the operator is Exists or DoesNotExist,
        the values array must be empty. This array is replaced during a strategic
        merge patch.

        :schema: ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProvider",
    jsii_struct_bases=[],
    name_mapping={"aws": "aws"},
)
class ClusterSecretStoreSpecProvider:
    def __init__(
        self,
        *,
        aws: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAws", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Used to configure the provider.

        Only one provider may be set

        :param aws: AWS configures this store to sync secrets using AWS Secret Manager provider.

        :schema: ClusterSecretStoreSpecProvider
        '''
        if isinstance(aws, dict):
            aws = ClusterSecretStoreSpecProviderAws(**aws)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__b577f0ccbbef07f08ad1ab52f92fc2ed139f3591354a8294c647ea76a6470491)
            check_type(argname="argument aws", value=aws, expected_type=type_hints["aws"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if aws is not None:
            self._values["aws"] = aws

    @builtins.property
    def aws(self) -> typing.Optional["ClusterSecretStoreSpecProviderAws"]:
        '''AWS configures this store to sync secrets using AWS Secret Manager provider.

        :schema: ClusterSecretStoreSpecProvider#aws
        '''
        result = self._values.get("aws")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAws"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProvider(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAws",
    jsii_struct_bases=[],
    name_mapping={
        "region": "region",
        "service": "service",
        "additional_roles": "additionalRoles",
        "auth": "auth",
        "custom_session_tags": "customSessionTags",
        "external_id": "externalId",
        "prefix": "prefix",
        "role": "role",
        "secrets_manager": "secretsManager",
        "session_tags": "sessionTags",
        "session_tags_policy": "sessionTagsPolicy",
        "transitive_tag_keys": "transitiveTagKeys",
    },
)
class ClusterSecretStoreSpecProviderAws:
    def __init__(
        self,
        *,
        region: builtins.str,
        service: "ClusterSecretStoreSpecProviderAwsService",
        additional_roles: typing.Optional[typing.Sequence[builtins.str]] = None,
        auth: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuth", typing.Dict[builtins.str, typing.Any]]] = None,
        custom_session_tags: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
        external_id: typing.Optional[builtins.str] = None,
        prefix: typing.Optional[builtins.str] = None,
        role: typing.Optional[builtins.str] = None,
        secrets_manager: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsSecretsManager", typing.Dict[builtins.str, typing.Any]]] = None,
        session_tags: typing.Optional[typing.Sequence[typing.Union["ClusterSecretStoreSpecProviderAwsSessionTags", typing.Dict[builtins.str, typing.Any]]]] = None,
        session_tags_policy: typing.Optional["ClusterSecretStoreSpecProviderAwsSessionTagsPolicy"] = None,
        transitive_tag_keys: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''AWS configures this store to sync secrets using AWS Secret Manager provider.

        :param region: AWS Region to be used for the provider.
        :param service: Service defines which service should be used to fetch the secrets.
        :param additional_roles: AdditionalRoles is a chained list of Role ARNs which the provider will sequentially assume before assuming the Role.
        :param auth: Auth defines the information necessary to authenticate against AWS if not set aws sdk will infer credentials from your environment see: https://docs.aws.amazon.com/sdk-for-go/v1/developer-guide/configuring-sdk.html#specifying-credentials.
        :param custom_session_tags: CustomSessionTags defines additional STS session tags to include when SessionTagsPolicy is Custom. These are merged with the automatically injected esoNamespace, esoStoreName, and esoStoreKind tags.
        :param external_id: AWS External ID set on assumed IAM roles.
        :param prefix: Prefix adds a prefix to all retrieved values.
        :param role: Role is a Role ARN which the provider will assume.
        :param secrets_manager: SecretsManager defines how the provider behaves when interacting with AWS SecretsManager.
        :param session_tags: AWS STS assume role session tags.
        :param session_tags_policy: SessionTagsPolicy controls whether and how STS session tags are added when assuming roles. None (default): no tags are added. Simple: automatically adds esoNamespace (from the ExternalSecret), esoStoreName, and esoStoreKind tags. Custom: adds esoNamespace, esoStoreName, and esoStoreKind plus any tags defined in CustomSessionTags. Note: the IAM role must have sts:TagSession permission when using Simple or Custom.
        :param transitive_tag_keys: AWS STS assume role transitive session tags. Required when multiple rules are used with the provider

        :schema: ClusterSecretStoreSpecProviderAws
        '''
        if isinstance(auth, dict):
            auth = ClusterSecretStoreSpecProviderAwsAuth(**auth)
        if isinstance(secrets_manager, dict):
            secrets_manager = ClusterSecretStoreSpecProviderAwsSecretsManager(**secrets_manager)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__0b890d76e5f0d682e477d7b20c0020358b39d98bd01a9432e52c7c4a8ac616f0)
            check_type(argname="argument region", value=region, expected_type=type_hints["region"])
            check_type(argname="argument service", value=service, expected_type=type_hints["service"])
            check_type(argname="argument additional_roles", value=additional_roles, expected_type=type_hints["additional_roles"])
            check_type(argname="argument auth", value=auth, expected_type=type_hints["auth"])
            check_type(argname="argument custom_session_tags", value=custom_session_tags, expected_type=type_hints["custom_session_tags"])
            check_type(argname="argument external_id", value=external_id, expected_type=type_hints["external_id"])
            check_type(argname="argument prefix", value=prefix, expected_type=type_hints["prefix"])
            check_type(argname="argument role", value=role, expected_type=type_hints["role"])
            check_type(argname="argument secrets_manager", value=secrets_manager, expected_type=type_hints["secrets_manager"])
            check_type(argname="argument session_tags", value=session_tags, expected_type=type_hints["session_tags"])
            check_type(argname="argument session_tags_policy", value=session_tags_policy, expected_type=type_hints["session_tags_policy"])
            check_type(argname="argument transitive_tag_keys", value=transitive_tag_keys, expected_type=type_hints["transitive_tag_keys"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "region": region,
            "service": service,
        }
        if additional_roles is not None:
            self._values["additional_roles"] = additional_roles
        if auth is not None:
            self._values["auth"] = auth
        if custom_session_tags is not None:
            self._values["custom_session_tags"] = custom_session_tags
        if external_id is not None:
            self._values["external_id"] = external_id
        if prefix is not None:
            self._values["prefix"] = prefix
        if role is not None:
            self._values["role"] = role
        if secrets_manager is not None:
            self._values["secrets_manager"] = secrets_manager
        if session_tags is not None:
            self._values["session_tags"] = session_tags
        if session_tags_policy is not None:
            self._values["session_tags_policy"] = session_tags_policy
        if transitive_tag_keys is not None:
            self._values["transitive_tag_keys"] = transitive_tag_keys

    @builtins.property
    def region(self) -> builtins.str:
        '''AWS Region to be used for the provider.

        :schema: ClusterSecretStoreSpecProviderAws#region
        '''
        result = self._values.get("region")
        assert result is not None, "Required property 'region' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def service(self) -> "ClusterSecretStoreSpecProviderAwsService":
        '''Service defines which service should be used to fetch the secrets.

        :schema: ClusterSecretStoreSpecProviderAws#service
        '''
        result = self._values.get("service")
        assert result is not None, "Required property 'service' is missing"
        return typing.cast("ClusterSecretStoreSpecProviderAwsService", result)

    @builtins.property
    def additional_roles(self) -> typing.Optional[typing.List[builtins.str]]:
        '''AdditionalRoles is a chained list of Role ARNs which the provider will sequentially assume before assuming the Role.

        :schema: ClusterSecretStoreSpecProviderAws#additionalRoles
        '''
        result = self._values.get("additional_roles")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def auth(self) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuth"]:
        '''Auth defines the information necessary to authenticate against AWS if not set aws sdk will infer credentials from your environment see: https://docs.aws.amazon.com/sdk-for-go/v1/developer-guide/configuring-sdk.html#specifying-credentials.

        :schema: ClusterSecretStoreSpecProviderAws#auth
        '''
        result = self._values.get("auth")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuth"], result)

    @builtins.property
    def custom_session_tags(
        self,
    ) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''CustomSessionTags defines additional STS session tags to include when SessionTagsPolicy is Custom.

        These are merged with the automatically injected esoNamespace, esoStoreName, and esoStoreKind tags.

        :schema: ClusterSecretStoreSpecProviderAws#customSessionTags
        '''
        result = self._values.get("custom_session_tags")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    @builtins.property
    def external_id(self) -> typing.Optional[builtins.str]:
        '''AWS External ID set on assumed IAM roles.

        :schema: ClusterSecretStoreSpecProviderAws#externalID
        '''
        result = self._values.get("external_id")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def prefix(self) -> typing.Optional[builtins.str]:
        '''Prefix adds a prefix to all retrieved values.

        :schema: ClusterSecretStoreSpecProviderAws#prefix
        '''
        result = self._values.get("prefix")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def role(self) -> typing.Optional[builtins.str]:
        '''Role is a Role ARN which the provider will assume.

        :schema: ClusterSecretStoreSpecProviderAws#role
        '''
        result = self._values.get("role")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def secrets_manager(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsSecretsManager"]:
        '''SecretsManager defines how the provider behaves when interacting with AWS SecretsManager.

        :schema: ClusterSecretStoreSpecProviderAws#secretsManager
        '''
        result = self._values.get("secrets_manager")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsSecretsManager"], result)

    @builtins.property
    def session_tags(
        self,
    ) -> typing.Optional[typing.List["ClusterSecretStoreSpecProviderAwsSessionTags"]]:
        '''AWS STS assume role session tags.

        :schema: ClusterSecretStoreSpecProviderAws#sessionTags
        '''
        result = self._values.get("session_tags")
        return typing.cast(typing.Optional[typing.List["ClusterSecretStoreSpecProviderAwsSessionTags"]], result)

    @builtins.property
    def session_tags_policy(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsSessionTagsPolicy"]:
        '''SessionTagsPolicy controls whether and how STS session tags are added when assuming roles.

        None (default): no tags are added.
        Simple: automatically adds esoNamespace (from the ExternalSecret), esoStoreName, and esoStoreKind tags.
        Custom: adds esoNamespace, esoStoreName, and esoStoreKind plus any tags defined in CustomSessionTags.
        Note: the IAM role must have sts:TagSession permission when using Simple or Custom.

        :schema: ClusterSecretStoreSpecProviderAws#sessionTagsPolicy
        '''
        result = self._values.get("session_tags_policy")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsSessionTagsPolicy"], result)

    @builtins.property
    def transitive_tag_keys(self) -> typing.Optional[typing.List[builtins.str]]:
        '''AWS STS assume role transitive session tags.

        Required when multiple rules are used with the provider

        :schema: ClusterSecretStoreSpecProviderAws#transitiveTagKeys
        '''
        result = self._values.get("transitive_tag_keys")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAws(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuth",
    jsii_struct_bases=[],
    name_mapping={"jwt": "jwt", "secret_ref": "secretRef"},
)
class ClusterSecretStoreSpecProviderAwsAuth:
    def __init__(
        self,
        *,
        jwt: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuthJwt", typing.Dict[builtins.str, typing.Any]]] = None,
        secret_ref: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuthSecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Auth defines the information necessary to authenticate against AWS if not set aws sdk will infer credentials from your environment see: https://docs.aws.amazon.com/sdk-for-go/v1/developer-guide/configuring-sdk.html#specifying-credentials.

        :param jwt: AWSJWTAuth stores reference to Authenticate against AWS using service account tokens.
        :param secret_ref: AWSAuthSecretRef holds secret references for AWS credentials both AccessKeyID and SecretAccessKey must be defined in order to properly authenticate.

        :schema: ClusterSecretStoreSpecProviderAwsAuth
        '''
        if isinstance(jwt, dict):
            jwt = ClusterSecretStoreSpecProviderAwsAuthJwt(**jwt)
        if isinstance(secret_ref, dict):
            secret_ref = ClusterSecretStoreSpecProviderAwsAuthSecretRef(**secret_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__a6dd72e093e44f4d176c7ac71615a880705b99b630555e7ce1e4ea69742c5efb)
            check_type(argname="argument jwt", value=jwt, expected_type=type_hints["jwt"])
            check_type(argname="argument secret_ref", value=secret_ref, expected_type=type_hints["secret_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if jwt is not None:
            self._values["jwt"] = jwt
        if secret_ref is not None:
            self._values["secret_ref"] = secret_ref

    @builtins.property
    def jwt(self) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuthJwt"]:
        '''AWSJWTAuth stores reference to Authenticate against AWS using service account tokens.

        :schema: ClusterSecretStoreSpecProviderAwsAuth#jwt
        '''
        result = self._values.get("jwt")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuthJwt"], result)

    @builtins.property
    def secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRef"]:
        '''AWSAuthSecretRef holds secret references for AWS credentials both AccessKeyID and SecretAccessKey must be defined in order to properly authenticate.

        :schema: ClusterSecretStoreSpecProviderAwsAuth#secretRef
        '''
        result = self._values.get("secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuth(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuthJwt",
    jsii_struct_bases=[],
    name_mapping={"service_account_ref": "serviceAccountRef"},
)
class ClusterSecretStoreSpecProviderAwsAuthJwt:
    def __init__(
        self,
        *,
        service_account_ref: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''AWSJWTAuth stores reference to Authenticate against AWS using service account tokens.

        :param service_account_ref: ServiceAccountSelector is a reference to a ServiceAccount resource.

        :schema: ClusterSecretStoreSpecProviderAwsAuthJwt
        '''
        if isinstance(service_account_ref, dict):
            service_account_ref = ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef(**service_account_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__e7d772d91778f286ba674c40734f79974636800252dcb80ba3aedb4417ec64cb)
            check_type(argname="argument service_account_ref", value=service_account_ref, expected_type=type_hints["service_account_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if service_account_ref is not None:
            self._values["service_account_ref"] = service_account_ref

    @builtins.property
    def service_account_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef"]:
        '''ServiceAccountSelector is a reference to a ServiceAccount resource.

        :schema: ClusterSecretStoreSpecProviderAwsAuthJwt#serviceAccountRef
        '''
        result = self._values.get("service_account_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuthJwt(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef",
    jsii_struct_bases=[],
    name_mapping={"name": "name", "audiences": "audiences", "namespace": "namespace"},
)
class ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef:
    def __init__(
        self,
        *,
        name: builtins.str,
        audiences: typing.Optional[typing.Sequence[builtins.str]] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''ServiceAccountSelector is a reference to a ServiceAccount resource.

        :param name: The name of the ServiceAccount resource being referred to.
        :param audiences: Audience specifies the ``aud`` claim for the service account token If the service account uses a well-known annotation for e.g. IRSA or GCP Workload Identity then this audiences will be appended to the list.
        :param namespace: Namespace of the resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__de10cf2ddb938d6fc92b26c35d489e4b0afd1f528224b33c4acedc8f7b7c55d4)
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument audiences", value=audiences, expected_type=type_hints["audiences"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "name": name,
        }
        if audiences is not None:
            self._values["audiences"] = audiences
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def name(self) -> builtins.str:
        '''The name of the ServiceAccount resource being referred to.

        :schema: ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def audiences(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Audience specifies the ``aud`` claim for the service account token If the service account uses a well-known annotation for e.g. IRSA or GCP Workload Identity then this audiences will be appended to the list.

        :schema: ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef#audiences
        '''
        result = self._values.get("audiences")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''Namespace of the resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuthSecretRef",
    jsii_struct_bases=[],
    name_mapping={
        "access_key_id_secret_ref": "accessKeyIdSecretRef",
        "secret_access_key_secret_ref": "secretAccessKeySecretRef",
        "session_token_secret_ref": "sessionTokenSecretRef",
    },
)
class ClusterSecretStoreSpecProviderAwsAuthSecretRef:
    def __init__(
        self,
        *,
        access_key_id_secret_ref: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
        secret_access_key_secret_ref: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
        session_token_secret_ref: typing.Optional[typing.Union["ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''AWSAuthSecretRef holds secret references for AWS credentials both AccessKeyID and SecretAccessKey must be defined in order to properly authenticate.

        :param access_key_id_secret_ref: The AccessKeyID is used for authentication.
        :param secret_access_key_secret_ref: The SecretAccessKey is used for authentication.
        :param session_token_secret_ref: The SessionToken used for authentication This must be defined if AccessKeyID and SecretAccessKey are temporary credentials see: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRef
        '''
        if isinstance(access_key_id_secret_ref, dict):
            access_key_id_secret_ref = ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef(**access_key_id_secret_ref)
        if isinstance(secret_access_key_secret_ref, dict):
            secret_access_key_secret_ref = ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef(**secret_access_key_secret_ref)
        if isinstance(session_token_secret_ref, dict):
            session_token_secret_ref = ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef(**session_token_secret_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__382d054259503c641b10cacac05db506fe361c058f5e49c99de7f0f9505e7137)
            check_type(argname="argument access_key_id_secret_ref", value=access_key_id_secret_ref, expected_type=type_hints["access_key_id_secret_ref"])
            check_type(argname="argument secret_access_key_secret_ref", value=secret_access_key_secret_ref, expected_type=type_hints["secret_access_key_secret_ref"])
            check_type(argname="argument session_token_secret_ref", value=session_token_secret_ref, expected_type=type_hints["session_token_secret_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if access_key_id_secret_ref is not None:
            self._values["access_key_id_secret_ref"] = access_key_id_secret_ref
        if secret_access_key_secret_ref is not None:
            self._values["secret_access_key_secret_ref"] = secret_access_key_secret_ref
        if session_token_secret_ref is not None:
            self._values["session_token_secret_ref"] = session_token_secret_ref

    @builtins.property
    def access_key_id_secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef"]:
        '''The AccessKeyID is used for authentication.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRef#accessKeyIDSecretRef
        '''
        result = self._values.get("access_key_id_secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef"], result)

    @builtins.property
    def secret_access_key_secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef"]:
        '''The SecretAccessKey is used for authentication.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRef#secretAccessKeySecretRef
        '''
        result = self._values.get("secret_access_key_secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef"], result)

    @builtins.property
    def session_token_secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef"]:
        '''The SessionToken used for authentication This must be defined if AccessKeyID and SecretAccessKey are temporary credentials see: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRef#sessionTokenSecretRef
        '''
        result = self._values.get("session_token_secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuthSecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "name": "name", "namespace": "namespace"},
)
class ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef:
    def __init__(
        self,
        *,
        key: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''The AccessKeyID is used for authentication.

        :param key: A key in the referenced Secret. Some instances of this field may be defaulted, in others it may be required.
        :param name: The name of the Secret resource being referred to.
        :param namespace: The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6651cda229033cd18398fe288cd6b6e8a7837eb3b8dcacc21b46f1303f7ab9fb)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if key is not None:
            self._values["key"] = key
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def key(self) -> typing.Optional[builtins.str]:
        '''A key in the referenced Secret.

        Some instances of this field may be defaulted, in others it may be required.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef#key
        '''
        result = self._values.get("key")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource being referred to.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''The namespace of the Secret resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "name": "name", "namespace": "namespace"},
)
class ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef:
    def __init__(
        self,
        *,
        key: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''The SecretAccessKey is used for authentication.

        :param key: A key in the referenced Secret. Some instances of this field may be defaulted, in others it may be required.
        :param name: The name of the Secret resource being referred to.
        :param namespace: The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__14d2105b0a56fd40c4ef74beca49699465299985a43951d9b6c98760df53d36d)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if key is not None:
            self._values["key"] = key
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def key(self) -> typing.Optional[builtins.str]:
        '''A key in the referenced Secret.

        Some instances of this field may be defaulted, in others it may be required.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef#key
        '''
        result = self._values.get("key")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource being referred to.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''The namespace of the Secret resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "name": "name", "namespace": "namespace"},
)
class ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef:
    def __init__(
        self,
        *,
        key: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''The SessionToken used for authentication This must be defined if AccessKeyID and SecretAccessKey are temporary credentials see: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html.

        :param key: A key in the referenced Secret. Some instances of this field may be defaulted, in others it may be required.
        :param name: The name of the Secret resource being referred to.
        :param namespace: The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__dd4fbc427e7378b255c8ebb41e9d546cd208553dfd074c98d857ec7fb06ac865)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if key is not None:
            self._values["key"] = key
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def key(self) -> typing.Optional[builtins.str]:
        '''A key in the referenced Secret.

        Some instances of this field may be defaulted, in others it may be required.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef#key
        '''
        result = self._values.get("key")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource being referred to.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''The namespace of the Secret resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsSecretsManager",
    jsii_struct_bases=[],
    name_mapping={
        "force_delete_without_recovery": "forceDeleteWithoutRecovery",
        "recovery_window_in_days": "recoveryWindowInDays",
    },
)
class ClusterSecretStoreSpecProviderAwsSecretsManager:
    def __init__(
        self,
        *,
        force_delete_without_recovery: typing.Optional[builtins.bool] = None,
        recovery_window_in_days: typing.Optional[jsii.Number] = None,
    ) -> None:
        '''SecretsManager defines how the provider behaves when interacting with AWS SecretsManager.

        :param force_delete_without_recovery: Specifies whether to delete the secret without any recovery window. You can't use both this parameter and RecoveryWindowInDays in the same call. If you don't use either, then by default Secrets Manager uses a 30 day recovery window. see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-ForceDeleteWithoutRecovery
        :param recovery_window_in_days: The number of days from 7 to 30 that Secrets Manager waits before permanently deleting the secret. You can't use both this parameter and ForceDeleteWithoutRecovery in the same call. If you don't use either, then by default Secrets Manager uses a 30-day recovery window. see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-RecoveryWindowInDays

        :schema: ClusterSecretStoreSpecProviderAwsSecretsManager
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__e2deea303d686e925fd79c2e63a1bac8cccf9105919d543ea3637e8cdaa2a460)
            check_type(argname="argument force_delete_without_recovery", value=force_delete_without_recovery, expected_type=type_hints["force_delete_without_recovery"])
            check_type(argname="argument recovery_window_in_days", value=recovery_window_in_days, expected_type=type_hints["recovery_window_in_days"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if force_delete_without_recovery is not None:
            self._values["force_delete_without_recovery"] = force_delete_without_recovery
        if recovery_window_in_days is not None:
            self._values["recovery_window_in_days"] = recovery_window_in_days

    @builtins.property
    def force_delete_without_recovery(self) -> typing.Optional[builtins.bool]:
        '''Specifies whether to delete the secret without any recovery window.

        You
        can't use both this parameter and RecoveryWindowInDays in the same call.
        If you don't use either, then by default Secrets Manager uses a 30 day
        recovery window.
        see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-ForceDeleteWithoutRecovery

        :schema: ClusterSecretStoreSpecProviderAwsSecretsManager#forceDeleteWithoutRecovery
        '''
        result = self._values.get("force_delete_without_recovery")
        return typing.cast(typing.Optional[builtins.bool], result)

    @builtins.property
    def recovery_window_in_days(self) -> typing.Optional[jsii.Number]:
        '''The number of days from 7 to 30 that Secrets Manager waits before permanently deleting the secret.

        You can't use both this parameter and
        ForceDeleteWithoutRecovery in the same call. If you don't use either,
        then by default Secrets Manager uses a 30-day recovery window.
        see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-RecoveryWindowInDays

        :schema: ClusterSecretStoreSpecProviderAwsSecretsManager#recoveryWindowInDays
        '''
        result = self._values.get("recovery_window_in_days")
        return typing.cast(typing.Optional[jsii.Number], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsSecretsManager(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsService")
class ClusterSecretStoreSpecProviderAwsService(enum.Enum):
    '''Service defines which service should be used to fetch the secrets.

    :schema: ClusterSecretStoreSpecProviderAwsService
    '''

    SECRETS_MANAGER = "SECRETS_MANAGER"
    '''SecretsManager.'''
    PARAMETER_STORE = "PARAMETER_STORE"
    '''ParameterStore.'''
    CERTIFICATE_MANAGER = "CERTIFICATE_MANAGER"
    '''CertificateManager.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsSessionTags",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "value": "value"},
)
class ClusterSecretStoreSpecProviderAwsSessionTags:
    def __init__(self, *, key: builtins.str, value: builtins.str) -> None:
        '''Tag is a key-value pair that can be attached to an AWS resource.

        see: https://docs.aws.amazon.com/general/latest/gr/aws_tagging.html

        :param key: 
        :param value: 

        :schema: ClusterSecretStoreSpecProviderAwsSessionTags
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8cad6cbff211dfde1ae9537e607df562fe4baba68b3cc8f4f46bfccfe19ff772)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument value", value=value, expected_type=type_hints["value"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "value": value,
        }

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ClusterSecretStoreSpecProviderAwsSessionTags#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def value(self) -> builtins.str:
        '''
        :schema: ClusterSecretStoreSpecProviderAwsSessionTags#value
        '''
        result = self._values.get("value")
        assert result is not None, "Required property 'value' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecProviderAwsSessionTags(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecProviderAwsSessionTagsPolicy"
)
class ClusterSecretStoreSpecProviderAwsSessionTagsPolicy(enum.Enum):
    '''SessionTagsPolicy controls whether and how STS session tags are added when assuming roles.

    None (default): no tags are added.
    Simple: automatically adds esoNamespace (from the ExternalSecret), esoStoreName, and esoStoreKind tags.
    Custom: adds esoNamespace, esoStoreName, and esoStoreKind plus any tags defined in CustomSessionTags.
    Note: the IAM role must have sts:TagSession permission when using Simple or Custom.

    :schema: ClusterSecretStoreSpecProviderAwsSessionTagsPolicy
    '''

    NONE = "NONE"
    '''None.'''
    SIMPLE = "SIMPLE"
    '''Simple.'''
    CUSTOM = "CUSTOM"
    '''Custom.'''


class ClusterSecretStoreSpecRefreshInterval(
    metaclass=jsii.JSIIMeta,
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecRefreshInterval",
):
    '''Used to configure store refresh interval.

    Accepts either an integer number
    of seconds (legacy) or a Go duration string such as "1h" or "5m". Empty or
    0 will default to the controller config.

    :schema: ClusterSecretStoreSpecRefreshInterval
    '''

    @jsii.member(jsii_name="fromNumber")
    @builtins.classmethod
    def from_number(cls, value: jsii.Number) -> "ClusterSecretStoreSpecRefreshInterval":
        '''
        :param value: -
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__e2a1463c962c4204e5b350a510d8eb2e695fa2d896f77cd1d8e40a3d9a43db74)
            check_type(argname="argument value", value=value, expected_type=type_hints["value"])
        return typing.cast("ClusterSecretStoreSpecRefreshInterval", jsii.sinvoke(cls, "fromNumber", [value]))

    @jsii.member(jsii_name="fromString")
    @builtins.classmethod
    def from_string(
        cls,
        value: builtins.str,
    ) -> "ClusterSecretStoreSpecRefreshInterval":
        '''
        :param value: -
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7175095281f4fb2b01029b40999e09cf63207ffea252ada69d42873e80a5a5ba)
            check_type(argname="argument value", value=value, expected_type=type_hints["value"])
        return typing.cast("ClusterSecretStoreSpecRefreshInterval", jsii.sinvoke(cls, "fromString", [value]))

    @builtins.property
    @jsii.member(jsii_name="value")
    def value(self) -> typing.Union[builtins.str, jsii.Number]:
        return typing.cast(typing.Union[builtins.str, jsii.Number], jsii.get(self, "value"))


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreSpecRetrySettings",
    jsii_struct_bases=[],
    name_mapping={"max_retries": "maxRetries", "retry_interval": "retryInterval"},
)
class ClusterSecretStoreSpecRetrySettings:
    def __init__(
        self,
        *,
        max_retries: typing.Optional[jsii.Number] = None,
        retry_interval: typing.Optional[builtins.str] = None,
    ) -> None:
        '''Used to configure HTTP retries on failures.

        :param max_retries: 
        :param retry_interval: 

        :schema: ClusterSecretStoreSpecRetrySettings
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__e47d412c07158576d9f7496f0a0011a69595d8febfe76d46ed415887b59df8a3)
            check_type(argname="argument max_retries", value=max_retries, expected_type=type_hints["max_retries"])
            check_type(argname="argument retry_interval", value=retry_interval, expected_type=type_hints["retry_interval"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if max_retries is not None:
            self._values["max_retries"] = max_retries
        if retry_interval is not None:
            self._values["retry_interval"] = retry_interval

    @builtins.property
    def max_retries(self) -> typing.Optional[jsii.Number]:
        '''
        :schema: ClusterSecretStoreSpecRetrySettings#maxRetries
        '''
        result = self._values.get("max_retries")
        return typing.cast(typing.Optional[jsii.Number], result)

    @builtins.property
    def retry_interval(self) -> typing.Optional[builtins.str]:
        '''
        :schema: ClusterSecretStoreSpecRetrySettings#retryInterval
        '''
        result = self._values.get("retry_interval")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreSpecRetrySettings(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


class ClusterSecretStoreV1Beta1(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1",
):
    '''ClusterSecretStore represents a secure external location for storing secrets, which can be referenced as part of ``storeRef`` fields.

    :schema: ClusterSecretStoreV1Beta1
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1Spec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ClusterSecretStoreV1Beta1" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param metadata: 
        :param spec: SecretStoreSpec defines the desired state of SecretStore.
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8dc69ba83ec04594930db7e5543a7852c705a1ef67b59aa2efb6d2f5fad31ca0)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ClusterSecretStoreV1Beta1Props(metadata=metadata, spec=spec)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1Spec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ClusterSecretStoreV1Beta1".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param metadata: 
        :param spec: SecretStoreSpec defines the desired state of SecretStore.
        '''
        props = ClusterSecretStoreV1Beta1Props(metadata=metadata, spec=spec)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ClusterSecretStoreV1Beta1".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1Props",
    jsii_struct_bases=[],
    name_mapping={"metadata": "metadata", "spec": "spec"},
)
class ClusterSecretStoreV1Beta1Props:
    def __init__(
        self,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1Spec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ClusterSecretStore represents a secure external location for storing secrets, which can be referenced as part of ``storeRef`` fields.

        :param metadata: 
        :param spec: SecretStoreSpec defines the desired state of SecretStore.

        :schema: ClusterSecretStoreV1Beta1
        '''
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if isinstance(spec, dict):
            spec = ClusterSecretStoreV1Beta1Spec(**spec)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__37dcaec4116fd103182a4f47c276c1a112b670414846040cdef450a01c9e5a73)
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if metadata is not None:
            self._values["metadata"] = metadata
        if spec is not None:
            self._values["spec"] = spec

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ClusterSecretStoreV1Beta1#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    @builtins.property
    def spec(self) -> typing.Optional["ClusterSecretStoreV1Beta1Spec"]:
        '''SecretStoreSpec defines the desired state of SecretStore.

        :schema: ClusterSecretStoreV1Beta1#spec
        '''
        result = self._values.get("spec")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1Spec"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1Props(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1Spec",
    jsii_struct_bases=[],
    name_mapping={
        "provider": "provider",
        "conditions": "conditions",
        "controller": "controller",
        "refresh_interval": "refreshInterval",
        "retry_settings": "retrySettings",
    },
)
class ClusterSecretStoreV1Beta1Spec:
    def __init__(
        self,
        *,
        provider: typing.Union["ClusterSecretStoreV1Beta1SpecProvider", typing.Dict[builtins.str, typing.Any]],
        conditions: typing.Optional[typing.Sequence[typing.Union["ClusterSecretStoreV1Beta1SpecConditions", typing.Dict[builtins.str, typing.Any]]]] = None,
        controller: typing.Optional[builtins.str] = None,
        refresh_interval: typing.Optional[jsii.Number] = None,
        retry_settings: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecRetrySettings", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''SecretStoreSpec defines the desired state of SecretStore.

        :param provider: Used to configure the provider. Only one provider may be set
        :param conditions: Used to constrain a ClusterSecretStore to specific namespaces. Relevant only to ClusterSecretStore.
        :param controller: Used to select the correct ESO controller (think: ingress.ingressClassName) The ESO controller is instantiated with a specific controller name and filters ES based on this property.
        :param refresh_interval: Used to configure store refresh interval in seconds. Empty or 0 will default to the controller config.
        :param retry_settings: Used to configure HTTP retries on failures.

        :schema: ClusterSecretStoreV1Beta1Spec
        '''
        if isinstance(provider, dict):
            provider = ClusterSecretStoreV1Beta1SpecProvider(**provider)
        if isinstance(retry_settings, dict):
            retry_settings = ClusterSecretStoreV1Beta1SpecRetrySettings(**retry_settings)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__96137c80a93e24eeba29fafca095a8203971811207350934aeba8d7893de9dc3)
            check_type(argname="argument provider", value=provider, expected_type=type_hints["provider"])
            check_type(argname="argument conditions", value=conditions, expected_type=type_hints["conditions"])
            check_type(argname="argument controller", value=controller, expected_type=type_hints["controller"])
            check_type(argname="argument refresh_interval", value=refresh_interval, expected_type=type_hints["refresh_interval"])
            check_type(argname="argument retry_settings", value=retry_settings, expected_type=type_hints["retry_settings"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "provider": provider,
        }
        if conditions is not None:
            self._values["conditions"] = conditions
        if controller is not None:
            self._values["controller"] = controller
        if refresh_interval is not None:
            self._values["refresh_interval"] = refresh_interval
        if retry_settings is not None:
            self._values["retry_settings"] = retry_settings

    @builtins.property
    def provider(self) -> "ClusterSecretStoreV1Beta1SpecProvider":
        '''Used to configure the provider.

        Only one provider may be set

        :schema: ClusterSecretStoreV1Beta1Spec#provider
        '''
        result = self._values.get("provider")
        assert result is not None, "Required property 'provider' is missing"
        return typing.cast("ClusterSecretStoreV1Beta1SpecProvider", result)

    @builtins.property
    def conditions(
        self,
    ) -> typing.Optional[typing.List["ClusterSecretStoreV1Beta1SpecConditions"]]:
        '''Used to constrain a ClusterSecretStore to specific namespaces.

        Relevant only to ClusterSecretStore.

        :schema: ClusterSecretStoreV1Beta1Spec#conditions
        '''
        result = self._values.get("conditions")
        return typing.cast(typing.Optional[typing.List["ClusterSecretStoreV1Beta1SpecConditions"]], result)

    @builtins.property
    def controller(self) -> typing.Optional[builtins.str]:
        '''Used to select the correct ESO controller (think: ingress.ingressClassName) The ESO controller is instantiated with a specific controller name and filters ES based on this property.

        :schema: ClusterSecretStoreV1Beta1Spec#controller
        '''
        result = self._values.get("controller")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def refresh_interval(self) -> typing.Optional[jsii.Number]:
        '''Used to configure store refresh interval in seconds.

        Empty or 0 will default to the controller config.

        :schema: ClusterSecretStoreV1Beta1Spec#refreshInterval
        '''
        result = self._values.get("refresh_interval")
        return typing.cast(typing.Optional[jsii.Number], result)

    @builtins.property
    def retry_settings(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecRetrySettings"]:
        '''Used to configure HTTP retries on failures.

        :schema: ClusterSecretStoreV1Beta1Spec#retrySettings
        '''
        result = self._values.get("retry_settings")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecRetrySettings"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1Spec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecConditions",
    jsii_struct_bases=[],
    name_mapping={
        "namespace_regexes": "namespaceRegexes",
        "namespaces": "namespaces",
        "namespace_selector": "namespaceSelector",
    },
)
class ClusterSecretStoreV1Beta1SpecConditions:
    def __init__(
        self,
        *,
        namespace_regexes: typing.Optional[typing.Sequence[builtins.str]] = None,
        namespaces: typing.Optional[typing.Sequence[builtins.str]] = None,
        namespace_selector: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ClusterSecretStoreCondition describes a condition by which to choose namespaces to process ExternalSecrets in for a ClusterSecretStore instance.

        :param namespace_regexes: Choose namespaces by using regex matching.
        :param namespaces: Choose namespaces by name.
        :param namespace_selector: Choose namespace using a labelSelector.

        :schema: ClusterSecretStoreV1Beta1SpecConditions
        '''
        if isinstance(namespace_selector, dict):
            namespace_selector = ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector(**namespace_selector)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7a0202bb2fa72e90fc4694fed122e588c991e624b62e6209c28dc3a91ec50c85)
            check_type(argname="argument namespace_regexes", value=namespace_regexes, expected_type=type_hints["namespace_regexes"])
            check_type(argname="argument namespaces", value=namespaces, expected_type=type_hints["namespaces"])
            check_type(argname="argument namespace_selector", value=namespace_selector, expected_type=type_hints["namespace_selector"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if namespace_regexes is not None:
            self._values["namespace_regexes"] = namespace_regexes
        if namespaces is not None:
            self._values["namespaces"] = namespaces
        if namespace_selector is not None:
            self._values["namespace_selector"] = namespace_selector

    @builtins.property
    def namespace_regexes(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Choose namespaces by using regex matching.

        :schema: ClusterSecretStoreV1Beta1SpecConditions#namespaceRegexes
        '''
        result = self._values.get("namespace_regexes")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def namespaces(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Choose namespaces by name.

        :schema: ClusterSecretStoreV1Beta1SpecConditions#namespaces
        '''
        result = self._values.get("namespaces")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def namespace_selector(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector"]:
        '''Choose namespace using a labelSelector.

        :schema: ClusterSecretStoreV1Beta1SpecConditions#namespaceSelector
        '''
        result = self._values.get("namespace_selector")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecConditions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector",
    jsii_struct_bases=[],
    name_mapping={
        "match_expressions": "matchExpressions",
        "match_labels": "matchLabels",
    },
)
class ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector:
    def __init__(
        self,
        *,
        match_expressions: typing.Optional[typing.Sequence[typing.Union["ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions", typing.Dict[builtins.str, typing.Any]]]] = None,
        match_labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    ) -> None:
        '''Choose namespace using a labelSelector.

        :param match_expressions: matchExpressions is a list of label selector requirements. The requirements are ANDed.
        :param match_labels: matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is equivalent to an element of matchExpressions, whose key field is "key", the operator is "In", and the values array contains only "value". The requirements are ANDed.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__60d6e4eff1efa2b67d55a0694a4bc3737bb79c33a7e3ef1e953aded7c9e48b6a)
            check_type(argname="argument match_expressions", value=match_expressions, expected_type=type_hints["match_expressions"])
            check_type(argname="argument match_labels", value=match_labels, expected_type=type_hints["match_labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if match_expressions is not None:
            self._values["match_expressions"] = match_expressions
        if match_labels is not None:
            self._values["match_labels"] = match_labels

    @builtins.property
    def match_expressions(
        self,
    ) -> typing.Optional[typing.List["ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions"]]:
        '''matchExpressions is a list of label selector requirements.

        The requirements are ANDed.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector#matchExpressions
        '''
        result = self._values.get("match_expressions")
        return typing.cast(typing.Optional[typing.List["ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions"]], result)

    @builtins.property
    def match_labels(
        self,
    ) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''matchLabels is a map of {key,value} pairs.

        A single {key,value} in the matchLabels
        map is equivalent to an element of matchExpressions, whose key field is "key", the
        operator is "In", and the values array contains only "value". The requirements are ANDed.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector#matchLabels
        '''
        result = self._values.get("match_labels")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "operator": "operator", "values": "values"},
)
class ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions:
    def __init__(
        self,
        *,
        key: builtins.str,
        operator: builtins.str,
        values: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''A label selector requirement is a selector that contains values, a key, and an operator that relates the key and values.

        :param key: key is the label key that the selector applies to.
        :param operator: operator represents a key's relationship to a set of values. Valid operators are In, NotIn, Exists and DoesNotExist.
        :param values: values is an array of string values. If the operator is In or NotIn, the values array must be non-empty. If the operator is Exists or DoesNotExist, the values array must be empty. This array is replaced during a strategic merge patch.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__2f6837a7309a755123acc2e7f78d1774390ea2fa5b1b52a1281d7fe46f9b6fa9)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument operator", value=operator, expected_type=type_hints["operator"])
            check_type(argname="argument values", value=values, expected_type=type_hints["values"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "operator": operator,
        }
        if values is not None:
            self._values["values"] = values

    @builtins.property
    def key(self) -> builtins.str:
        '''key is the label key that the selector applies to.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def operator(self) -> builtins.str:
        '''operator represents a key's relationship to a set of values.

        Valid operators are In, NotIn, Exists and DoesNotExist.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions#operator
        '''
        result = self._values.get("operator")
        assert result is not None, "Required property 'operator' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def values(self) -> typing.Optional[typing.List[builtins.str]]:
        '''values is an array of string values.

        If the operator is In or NotIn,
        the values array must be non-empty. If the operator is Exists or DoesNotExist,
        the values array must be empty. This array is replaced during a strategic
        merge patch.

        :schema: ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions#values
        '''
        result = self._values.get("values")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProvider",
    jsii_struct_bases=[],
    name_mapping={"aws": "aws"},
)
class ClusterSecretStoreV1Beta1SpecProvider:
    def __init__(
        self,
        *,
        aws: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAws", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Used to configure the provider.

        Only one provider may be set

        :param aws: AWS configures this store to sync secrets using AWS Secret Manager provider.

        :schema: ClusterSecretStoreV1Beta1SpecProvider
        '''
        if isinstance(aws, dict):
            aws = ClusterSecretStoreV1Beta1SpecProviderAws(**aws)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__68ba9e9c4c46e5f6c6fca915ad8c80109c0ed4a1cdb61ca84e474072d126bde6)
            check_type(argname="argument aws", value=aws, expected_type=type_hints["aws"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if aws is not None:
            self._values["aws"] = aws

    @builtins.property
    def aws(self) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAws"]:
        '''AWS configures this store to sync secrets using AWS Secret Manager provider.

        :schema: ClusterSecretStoreV1Beta1SpecProvider#aws
        '''
        result = self._values.get("aws")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAws"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProvider(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAws",
    jsii_struct_bases=[],
    name_mapping={
        "region": "region",
        "service": "service",
        "additional_roles": "additionalRoles",
        "auth": "auth",
        "external_id": "externalId",
        "prefix": "prefix",
        "role": "role",
        "secrets_manager": "secretsManager",
        "session_tags": "sessionTags",
        "transitive_tag_keys": "transitiveTagKeys",
    },
)
class ClusterSecretStoreV1Beta1SpecProviderAws:
    def __init__(
        self,
        *,
        region: builtins.str,
        service: "ClusterSecretStoreV1Beta1SpecProviderAwsService",
        additional_roles: typing.Optional[typing.Sequence[builtins.str]] = None,
        auth: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuth", typing.Dict[builtins.str, typing.Any]]] = None,
        external_id: typing.Optional[builtins.str] = None,
        prefix: typing.Optional[builtins.str] = None,
        role: typing.Optional[builtins.str] = None,
        secrets_manager: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager", typing.Dict[builtins.str, typing.Any]]] = None,
        session_tags: typing.Optional[typing.Sequence[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags", typing.Dict[builtins.str, typing.Any]]]] = None,
        transitive_tag_keys: typing.Optional[typing.Sequence[builtins.str]] = None,
    ) -> None:
        '''AWS configures this store to sync secrets using AWS Secret Manager provider.

        :param region: AWS Region to be used for the provider.
        :param service: Service defines which service should be used to fetch the secrets.
        :param additional_roles: AdditionalRoles is a chained list of Role ARNs which the provider will sequentially assume before assuming the Role.
        :param auth: Auth defines the information necessary to authenticate against AWS if not set aws sdk will infer credentials from your environment see: https://docs.aws.amazon.com/sdk-for-go/v1/developer-guide/configuring-sdk.html#specifying-credentials.
        :param external_id: AWS External ID set on assumed IAM roles.
        :param prefix: Prefix adds a prefix to all retrieved values.
        :param role: Role is a Role ARN which the provider will assume.
        :param secrets_manager: SecretsManager defines how the provider behaves when interacting with AWS SecretsManager.
        :param session_tags: AWS STS assume role session tags.
        :param transitive_tag_keys: AWS STS assume role transitive session tags. Required when multiple rules are used with the provider

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws
        '''
        if isinstance(auth, dict):
            auth = ClusterSecretStoreV1Beta1SpecProviderAwsAuth(**auth)
        if isinstance(secrets_manager, dict):
            secrets_manager = ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager(**secrets_manager)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6627988073d9ff383a854cf295ddb2aa2cfe69af584935d6041de0fd6369c2f2)
            check_type(argname="argument region", value=region, expected_type=type_hints["region"])
            check_type(argname="argument service", value=service, expected_type=type_hints["service"])
            check_type(argname="argument additional_roles", value=additional_roles, expected_type=type_hints["additional_roles"])
            check_type(argname="argument auth", value=auth, expected_type=type_hints["auth"])
            check_type(argname="argument external_id", value=external_id, expected_type=type_hints["external_id"])
            check_type(argname="argument prefix", value=prefix, expected_type=type_hints["prefix"])
            check_type(argname="argument role", value=role, expected_type=type_hints["role"])
            check_type(argname="argument secrets_manager", value=secrets_manager, expected_type=type_hints["secrets_manager"])
            check_type(argname="argument session_tags", value=session_tags, expected_type=type_hints["session_tags"])
            check_type(argname="argument transitive_tag_keys", value=transitive_tag_keys, expected_type=type_hints["transitive_tag_keys"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "region": region,
            "service": service,
        }
        if additional_roles is not None:
            self._values["additional_roles"] = additional_roles
        if auth is not None:
            self._values["auth"] = auth
        if external_id is not None:
            self._values["external_id"] = external_id
        if prefix is not None:
            self._values["prefix"] = prefix
        if role is not None:
            self._values["role"] = role
        if secrets_manager is not None:
            self._values["secrets_manager"] = secrets_manager
        if session_tags is not None:
            self._values["session_tags"] = session_tags
        if transitive_tag_keys is not None:
            self._values["transitive_tag_keys"] = transitive_tag_keys

    @builtins.property
    def region(self) -> builtins.str:
        '''AWS Region to be used for the provider.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#region
        '''
        result = self._values.get("region")
        assert result is not None, "Required property 'region' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def service(self) -> "ClusterSecretStoreV1Beta1SpecProviderAwsService":
        '''Service defines which service should be used to fetch the secrets.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#service
        '''
        result = self._values.get("service")
        assert result is not None, "Required property 'service' is missing"
        return typing.cast("ClusterSecretStoreV1Beta1SpecProviderAwsService", result)

    @builtins.property
    def additional_roles(self) -> typing.Optional[typing.List[builtins.str]]:
        '''AdditionalRoles is a chained list of Role ARNs which the provider will sequentially assume before assuming the Role.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#additionalRoles
        '''
        result = self._values.get("additional_roles")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def auth(self) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuth"]:
        '''Auth defines the information necessary to authenticate against AWS if not set aws sdk will infer credentials from your environment see: https://docs.aws.amazon.com/sdk-for-go/v1/developer-guide/configuring-sdk.html#specifying-credentials.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#auth
        '''
        result = self._values.get("auth")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuth"], result)

    @builtins.property
    def external_id(self) -> typing.Optional[builtins.str]:
        '''AWS External ID set on assumed IAM roles.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#externalID
        '''
        result = self._values.get("external_id")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def prefix(self) -> typing.Optional[builtins.str]:
        '''Prefix adds a prefix to all retrieved values.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#prefix
        '''
        result = self._values.get("prefix")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def role(self) -> typing.Optional[builtins.str]:
        '''Role is a Role ARN which the provider will assume.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#role
        '''
        result = self._values.get("role")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def secrets_manager(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager"]:
        '''SecretsManager defines how the provider behaves when interacting with AWS SecretsManager.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#secretsManager
        '''
        result = self._values.get("secrets_manager")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager"], result)

    @builtins.property
    def session_tags(
        self,
    ) -> typing.Optional[typing.List["ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags"]]:
        '''AWS STS assume role session tags.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#sessionTags
        '''
        result = self._values.get("session_tags")
        return typing.cast(typing.Optional[typing.List["ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags"]], result)

    @builtins.property
    def transitive_tag_keys(self) -> typing.Optional[typing.List[builtins.str]]:
        '''AWS STS assume role transitive session tags.

        Required when multiple rules are used with the provider

        :schema: ClusterSecretStoreV1Beta1SpecProviderAws#transitiveTagKeys
        '''
        result = self._values.get("transitive_tag_keys")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAws(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuth",
    jsii_struct_bases=[],
    name_mapping={"jwt": "jwt", "secret_ref": "secretRef"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuth:
    def __init__(
        self,
        *,
        jwt: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt", typing.Dict[builtins.str, typing.Any]]] = None,
        secret_ref: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Auth defines the information necessary to authenticate against AWS if not set aws sdk will infer credentials from your environment see: https://docs.aws.amazon.com/sdk-for-go/v1/developer-guide/configuring-sdk.html#specifying-credentials.

        :param jwt: AWSJWTAuth authenticates against AWS using service account tokens from the Kubernetes cluster.
        :param secret_ref: AWSAuthSecretRef holds secret references for AWS credentials both AccessKeyID and SecretAccessKey must be defined in order to properly authenticate.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuth
        '''
        if isinstance(jwt, dict):
            jwt = ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt(**jwt)
        if isinstance(secret_ref, dict):
            secret_ref = ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef(**secret_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__9edc5295784c46ee0e2ea751f45dd384e14e357e55ab66dbd253a053803e6150)
            check_type(argname="argument jwt", value=jwt, expected_type=type_hints["jwt"])
            check_type(argname="argument secret_ref", value=secret_ref, expected_type=type_hints["secret_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if jwt is not None:
            self._values["jwt"] = jwt
        if secret_ref is not None:
            self._values["secret_ref"] = secret_ref

    @builtins.property
    def jwt(self) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt"]:
        '''AWSJWTAuth authenticates against AWS using service account tokens from the Kubernetes cluster.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuth#jwt
        '''
        result = self._values.get("jwt")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt"], result)

    @builtins.property
    def secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef"]:
        '''AWSAuthSecretRef holds secret references for AWS credentials both AccessKeyID and SecretAccessKey must be defined in order to properly authenticate.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuth#secretRef
        '''
        result = self._values.get("secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuth(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt",
    jsii_struct_bases=[],
    name_mapping={"service_account_ref": "serviceAccountRef"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt:
    def __init__(
        self,
        *,
        service_account_ref: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''AWSJWTAuth authenticates against AWS using service account tokens from the Kubernetes cluster.

        :param service_account_ref: ServiceAccountSelector is a reference to a ServiceAccount resource.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt
        '''
        if isinstance(service_account_ref, dict):
            service_account_ref = ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef(**service_account_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__9184e71a5ae0b63160a31c441f3e767c7e9fe4ccdeb7eb6d0313b1e446630e7c)
            check_type(argname="argument service_account_ref", value=service_account_ref, expected_type=type_hints["service_account_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if service_account_ref is not None:
            self._values["service_account_ref"] = service_account_ref

    @builtins.property
    def service_account_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef"]:
        '''ServiceAccountSelector is a reference to a ServiceAccount resource.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt#serviceAccountRef
        '''
        result = self._values.get("service_account_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef",
    jsii_struct_bases=[],
    name_mapping={"name": "name", "audiences": "audiences", "namespace": "namespace"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef:
    def __init__(
        self,
        *,
        name: builtins.str,
        audiences: typing.Optional[typing.Sequence[builtins.str]] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''ServiceAccountSelector is a reference to a ServiceAccount resource.

        :param name: The name of the ServiceAccount resource being referred to.
        :param audiences: Audience specifies the ``aud`` claim for the service account token If the service account uses a well-known annotation for e.g. IRSA or GCP Workload Identity then this audiences will be appended to the list.
        :param namespace: Namespace of the resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__870111368203389e739228502d0d717a15cc9b15fa8225662b2e8b801afa6d57)
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument audiences", value=audiences, expected_type=type_hints["audiences"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "name": name,
        }
        if audiences is not None:
            self._values["audiences"] = audiences
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def name(self) -> builtins.str:
        '''The name of the ServiceAccount resource being referred to.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def audiences(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Audience specifies the ``aud`` claim for the service account token If the service account uses a well-known annotation for e.g. IRSA or GCP Workload Identity then this audiences will be appended to the list.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef#audiences
        '''
        result = self._values.get("audiences")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''Namespace of the resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef",
    jsii_struct_bases=[],
    name_mapping={
        "access_key_id_secret_ref": "accessKeyIdSecretRef",
        "secret_access_key_secret_ref": "secretAccessKeySecretRef",
        "session_token_secret_ref": "sessionTokenSecretRef",
    },
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef:
    def __init__(
        self,
        *,
        access_key_id_secret_ref: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
        secret_access_key_secret_ref: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
        session_token_secret_ref: typing.Optional[typing.Union["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''AWSAuthSecretRef holds secret references for AWS credentials both AccessKeyID and SecretAccessKey must be defined in order to properly authenticate.

        :param access_key_id_secret_ref: The AccessKeyID is used for authentication.
        :param secret_access_key_secret_ref: The SecretAccessKey is used for authentication.
        :param session_token_secret_ref: The SessionToken used for authentication This must be defined if AccessKeyID and SecretAccessKey are temporary credentials see: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef
        '''
        if isinstance(access_key_id_secret_ref, dict):
            access_key_id_secret_ref = ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef(**access_key_id_secret_ref)
        if isinstance(secret_access_key_secret_ref, dict):
            secret_access_key_secret_ref = ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef(**secret_access_key_secret_ref)
        if isinstance(session_token_secret_ref, dict):
            session_token_secret_ref = ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef(**session_token_secret_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__e52b02bc80a06882a9b54890d7cfecec33b6ea34945389922ff0d8635877f5c5)
            check_type(argname="argument access_key_id_secret_ref", value=access_key_id_secret_ref, expected_type=type_hints["access_key_id_secret_ref"])
            check_type(argname="argument secret_access_key_secret_ref", value=secret_access_key_secret_ref, expected_type=type_hints["secret_access_key_secret_ref"])
            check_type(argname="argument session_token_secret_ref", value=session_token_secret_ref, expected_type=type_hints["session_token_secret_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if access_key_id_secret_ref is not None:
            self._values["access_key_id_secret_ref"] = access_key_id_secret_ref
        if secret_access_key_secret_ref is not None:
            self._values["secret_access_key_secret_ref"] = secret_access_key_secret_ref
        if session_token_secret_ref is not None:
            self._values["session_token_secret_ref"] = session_token_secret_ref

    @builtins.property
    def access_key_id_secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef"]:
        '''The AccessKeyID is used for authentication.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef#accessKeyIDSecretRef
        '''
        result = self._values.get("access_key_id_secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef"], result)

    @builtins.property
    def secret_access_key_secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef"]:
        '''The SecretAccessKey is used for authentication.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef#secretAccessKeySecretRef
        '''
        result = self._values.get("secret_access_key_secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef"], result)

    @builtins.property
    def session_token_secret_ref(
        self,
    ) -> typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef"]:
        '''The SessionToken used for authentication This must be defined if AccessKeyID and SecretAccessKey are temporary credentials see: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef#sessionTokenSecretRef
        '''
        result = self._values.get("session_token_secret_ref")
        return typing.cast(typing.Optional["ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "name": "name", "namespace": "namespace"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef:
    def __init__(
        self,
        *,
        key: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''The AccessKeyID is used for authentication.

        :param key: A key in the referenced Secret. Some instances of this field may be defaulted, in others it may be required.
        :param name: The name of the Secret resource being referred to.
        :param namespace: The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__3ce640ed09fb68e1ec7ffae5b6f1bdeeb3b0254c8fe3a3a1ca738807848e9bef)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if key is not None:
            self._values["key"] = key
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def key(self) -> typing.Optional[builtins.str]:
        '''A key in the referenced Secret.

        Some instances of this field may be defaulted, in others it may be required.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef#key
        '''
        result = self._values.get("key")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource being referred to.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''The namespace of the Secret resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "name": "name", "namespace": "namespace"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef:
    def __init__(
        self,
        *,
        key: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''The SecretAccessKey is used for authentication.

        :param key: A key in the referenced Secret. Some instances of this field may be defaulted, in others it may be required.
        :param name: The name of the Secret resource being referred to.
        :param namespace: The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__594f5480cf09e605b57bbf933433bc689ecce1570797dbdf19a46e8f5ddf16c1)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if key is not None:
            self._values["key"] = key
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def key(self) -> typing.Optional[builtins.str]:
        '''A key in the referenced Secret.

        Some instances of this field may be defaulted, in others it may be required.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef#key
        '''
        result = self._values.get("key")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource being referred to.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''The namespace of the Secret resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "name": "name", "namespace": "namespace"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef:
    def __init__(
        self,
        *,
        key: typing.Optional[builtins.str] = None,
        name: typing.Optional[builtins.str] = None,
        namespace: typing.Optional[builtins.str] = None,
    ) -> None:
        '''The SessionToken used for authentication This must be defined if AccessKeyID and SecretAccessKey are temporary credentials see: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html.

        :param key: A key in the referenced Secret. Some instances of this field may be defaulted, in others it may be required.
        :param name: The name of the Secret resource being referred to.
        :param namespace: The namespace of the Secret resource being referred to. Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__3912a4e98840489edf6e5dfa8970de8ea9724ef8f4ceffd39602443613a6428e)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument namespace", value=namespace, expected_type=type_hints["namespace"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if key is not None:
            self._values["key"] = key
        if name is not None:
            self._values["name"] = name
        if namespace is not None:
            self._values["namespace"] = namespace

    @builtins.property
    def key(self) -> typing.Optional[builtins.str]:
        '''A key in the referenced Secret.

        Some instances of this field may be defaulted, in others it may be required.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef#key
        '''
        result = self._values.get("key")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource being referred to.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def namespace(self) -> typing.Optional[builtins.str]:
        '''The namespace of the Secret resource being referred to.

        Ignored if referent is not cluster-scoped, otherwise defaults to the namespace of the referent.

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef#namespace
        '''
        result = self._values.get("namespace")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager",
    jsii_struct_bases=[],
    name_mapping={
        "force_delete_without_recovery": "forceDeleteWithoutRecovery",
        "recovery_window_in_days": "recoveryWindowInDays",
    },
)
class ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager:
    def __init__(
        self,
        *,
        force_delete_without_recovery: typing.Optional[builtins.bool] = None,
        recovery_window_in_days: typing.Optional[jsii.Number] = None,
    ) -> None:
        '''SecretsManager defines how the provider behaves when interacting with AWS SecretsManager.

        :param force_delete_without_recovery: Specifies whether to delete the secret without any recovery window. You can't use both this parameter and RecoveryWindowInDays in the same call. If you don't use either, then by default Secrets Manager uses a 30 day recovery window. see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-ForceDeleteWithoutRecovery
        :param recovery_window_in_days: The number of days from 7 to 30 that Secrets Manager waits before permanently deleting the secret. You can't use both this parameter and ForceDeleteWithoutRecovery in the same call. If you don't use either, then by default Secrets Manager uses a 30 day recovery window. see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-RecoveryWindowInDays

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__48c5a27c67d8d807c1dae77d0c9163e10b98d1c6749b78b57aafbce00783830e)
            check_type(argname="argument force_delete_without_recovery", value=force_delete_without_recovery, expected_type=type_hints["force_delete_without_recovery"])
            check_type(argname="argument recovery_window_in_days", value=recovery_window_in_days, expected_type=type_hints["recovery_window_in_days"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if force_delete_without_recovery is not None:
            self._values["force_delete_without_recovery"] = force_delete_without_recovery
        if recovery_window_in_days is not None:
            self._values["recovery_window_in_days"] = recovery_window_in_days

    @builtins.property
    def force_delete_without_recovery(self) -> typing.Optional[builtins.bool]:
        '''Specifies whether to delete the secret without any recovery window.

        You
        can't use both this parameter and RecoveryWindowInDays in the same call.
        If you don't use either, then by default Secrets Manager uses a 30 day
        recovery window.
        see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-ForceDeleteWithoutRecovery

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager#forceDeleteWithoutRecovery
        '''
        result = self._values.get("force_delete_without_recovery")
        return typing.cast(typing.Optional[builtins.bool], result)

    @builtins.property
    def recovery_window_in_days(self) -> typing.Optional[jsii.Number]:
        '''The number of days from 7 to 30 that Secrets Manager waits before permanently deleting the secret.

        You can't use both this parameter and
        ForceDeleteWithoutRecovery in the same call. If you don't use either,
        then by default Secrets Manager uses a 30 day recovery window.
        see: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html#SecretsManager-DeleteSecret-request-RecoveryWindowInDays

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager#recoveryWindowInDays
        '''
        result = self._values.get("recovery_window_in_days")
        return typing.cast(typing.Optional[jsii.Number], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsService"
)
class ClusterSecretStoreV1Beta1SpecProviderAwsService(enum.Enum):
    '''Service defines which service should be used to fetch the secrets.

    :schema: ClusterSecretStoreV1Beta1SpecProviderAwsService
    '''

    SECRETS_MANAGER = "SECRETS_MANAGER"
    '''SecretsManager.'''
    PARAMETER_STORE = "PARAMETER_STORE"
    '''ParameterStore.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "value": "value"},
)
class ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags:
    def __init__(self, *, key: builtins.str, value: builtins.str) -> None:
        '''Tag defines a tag key and value for AWS resources.

        :param key: 
        :param value: 

        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__ca4d5f8d4561743bd341a8ef02e3fe43606734481120c4be650df99a50ee88ad)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument value", value=value, expected_type=type_hints["value"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
            "value": value,
        }

    @builtins.property
    def key(self) -> builtins.str:
        '''
        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def value(self) -> builtins.str:
        '''
        :schema: ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags#value
        '''
        result = self._values.get("value")
        assert result is not None, "Required property 'value' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ClusterSecretStoreV1Beta1SpecRetrySettings",
    jsii_struct_bases=[],
    name_mapping={"max_retries": "maxRetries", "retry_interval": "retryInterval"},
)
class ClusterSecretStoreV1Beta1SpecRetrySettings:
    def __init__(
        self,
        *,
        max_retries: typing.Optional[jsii.Number] = None,
        retry_interval: typing.Optional[builtins.str] = None,
    ) -> None:
        '''Used to configure HTTP retries on failures.

        :param max_retries: MaxRetries is the maximum number of retry attempts.
        :param retry_interval: RetryInterval is the interval between retry attempts.

        :schema: ClusterSecretStoreV1Beta1SpecRetrySettings
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6cfd20d24fce68320069ccd4f9b78ce19df25d0bfb6d04f99d46f3caf0d6c97e)
            check_type(argname="argument max_retries", value=max_retries, expected_type=type_hints["max_retries"])
            check_type(argname="argument retry_interval", value=retry_interval, expected_type=type_hints["retry_interval"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if max_retries is not None:
            self._values["max_retries"] = max_retries
        if retry_interval is not None:
            self._values["retry_interval"] = retry_interval

    @builtins.property
    def max_retries(self) -> typing.Optional[jsii.Number]:
        '''MaxRetries is the maximum number of retry attempts.

        :schema: ClusterSecretStoreV1Beta1SpecRetrySettings#maxRetries
        '''
        result = self._values.get("max_retries")
        return typing.cast(typing.Optional[jsii.Number], result)

    @builtins.property
    def retry_interval(self) -> typing.Optional[builtins.str]:
        '''RetryInterval is the interval between retry attempts.

        :schema: ClusterSecretStoreV1Beta1SpecRetrySettings#retryInterval
        '''
        result = self._values.get("retry_interval")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ClusterSecretStoreV1Beta1SpecRetrySettings(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


class ExternalSecret(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="ioexternal-secrets.ExternalSecret",
):
    '''ExternalSecret is the Schema for the external-secrets API.

    It defines how to fetch data from external APIs and make it available as Kubernetes Secrets.

    :schema: ExternalSecret
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ExternalSecretSpec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ExternalSecret" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param metadata: 
        :param spec: ExternalSecretSpec defines the desired state of ExternalSecret.
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8c3b70f22c7723f819f402a6957ab71e8991db57a58ba85047be7a2faaad81e0)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ExternalSecretProps(metadata=metadata, spec=spec)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ExternalSecretSpec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ExternalSecret".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param metadata: 
        :param spec: ExternalSecretSpec defines the desired state of ExternalSecret.
        '''
        props = ExternalSecretProps(metadata=metadata, spec=spec)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ExternalSecret".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretProps",
    jsii_struct_bases=[],
    name_mapping={"metadata": "metadata", "spec": "spec"},
)
class ExternalSecretProps:
    def __init__(
        self,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ExternalSecretSpec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecret is the Schema for the external-secrets API.

        It defines how to fetch data from external APIs and make it available as Kubernetes Secrets.

        :param metadata: 
        :param spec: ExternalSecretSpec defines the desired state of ExternalSecret.

        :schema: ExternalSecret
        '''
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if isinstance(spec, dict):
            spec = ExternalSecretSpec(**spec)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__37e904970e3dbc8f880d53222da8b9d6ad0e642ffbccba70fe72cb9cdfbe3289)
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if metadata is not None:
            self._values["metadata"] = metadata
        if spec is not None:
            self._values["spec"] = spec

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ExternalSecret#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    @builtins.property
    def spec(self) -> typing.Optional["ExternalSecretSpec"]:
        '''ExternalSecretSpec defines the desired state of ExternalSecret.

        :schema: ExternalSecret#spec
        '''
        result = self._values.get("spec")
        return typing.cast(typing.Optional["ExternalSecretSpec"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretProps(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpec",
    jsii_struct_bases=[],
    name_mapping={
        "data": "data",
        "data_from": "dataFrom",
        "refresh_interval": "refreshInterval",
        "refresh_policy": "refreshPolicy",
        "secret_store_ref": "secretStoreRef",
        "sync_windows": "syncWindows",
        "target": "target",
    },
)
class ExternalSecretSpec:
    def __init__(
        self,
        *,
        data: typing.Optional[typing.Sequence[typing.Union["ExternalSecretSpecData", typing.Dict[builtins.str, typing.Any]]]] = None,
        data_from: typing.Optional[typing.Sequence[typing.Union["ExternalSecretSpecDataFrom", typing.Dict[builtins.str, typing.Any]]]] = None,
        refresh_interval: typing.Optional[builtins.str] = None,
        refresh_policy: typing.Optional["ExternalSecretSpecRefreshPolicy"] = None,
        secret_store_ref: typing.Optional[typing.Union["ExternalSecretSpecSecretStoreRef", typing.Dict[builtins.str, typing.Any]]] = None,
        sync_windows: typing.Optional[typing.Union["ExternalSecretSpecSyncWindows", typing.Dict[builtins.str, typing.Any]]] = None,
        target: typing.Optional[typing.Union["ExternalSecretSpecTarget", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretSpec defines the desired state of ExternalSecret.

        :param data: Data defines the connection between the Kubernetes Secret keys and the Provider data.
        :param data_from: DataFrom is used to fetch all properties from a specific Provider data If multiple entries are specified, the Secret keys are merged in the specified order.
        :param refresh_interval: RefreshInterval is the amount of time before the values are read again from the SecretStore provider, specified as Golang Duration strings. Valid time units are "ns", "us" (or "µs"), "ms", "s", "m", "h" Example values: "1h0m0s", "2h30m0s", "10m0s" May be set to "0s" to fetch and create it once. Defaults to 1h0m0s. Default: 1h0m0s.
        :param refresh_policy: RefreshPolicy determines how the ExternalSecret should be refreshed: - CreatedOnce: Creates the Secret only if it does not exist and does not update it thereafter - Periodic: Synchronizes the Secret from the external source at regular intervals specified by refreshInterval. No periodic updates occur if refreshInterval is 0. - OnChange: Only synchronizes the Secret when the ExternalSecret's metadata or specification changes
        :param secret_store_ref: SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.
        :param sync_windows: SyncWindows optionally restricts when periodic refreshes may occur. Evaluated in UTC, only for Periodic refresh policy (or when refreshPolicy is unset).
        :param target: ExternalSecretTarget defines the Kubernetes Secret to be created, there can be only one target per ExternalSecret.

        :schema: ExternalSecretSpec
        '''
        if isinstance(secret_store_ref, dict):
            secret_store_ref = ExternalSecretSpecSecretStoreRef(**secret_store_ref)
        if isinstance(sync_windows, dict):
            sync_windows = ExternalSecretSpecSyncWindows(**sync_windows)
        if isinstance(target, dict):
            target = ExternalSecretSpecTarget(**target)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__074b53f8506e2f7772a36a26ed9736680e0342754c5f0ccf2218c6fef874937d)
            check_type(argname="argument data", value=data, expected_type=type_hints["data"])
            check_type(argname="argument data_from", value=data_from, expected_type=type_hints["data_from"])
            check_type(argname="argument refresh_interval", value=refresh_interval, expected_type=type_hints["refresh_interval"])
            check_type(argname="argument refresh_policy", value=refresh_policy, expected_type=type_hints["refresh_policy"])
            check_type(argname="argument secret_store_ref", value=secret_store_ref, expected_type=type_hints["secret_store_ref"])
            check_type(argname="argument sync_windows", value=sync_windows, expected_type=type_hints["sync_windows"])
            check_type(argname="argument target", value=target, expected_type=type_hints["target"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if data is not None:
            self._values["data"] = data
        if data_from is not None:
            self._values["data_from"] = data_from
        if refresh_interval is not None:
            self._values["refresh_interval"] = refresh_interval
        if refresh_policy is not None:
            self._values["refresh_policy"] = refresh_policy
        if secret_store_ref is not None:
            self._values["secret_store_ref"] = secret_store_ref
        if sync_windows is not None:
            self._values["sync_windows"] = sync_windows
        if target is not None:
            self._values["target"] = target

    @builtins.property
    def data(self) -> typing.Optional[typing.List["ExternalSecretSpecData"]]:
        '''Data defines the connection between the Kubernetes Secret keys and the Provider data.

        :schema: ExternalSecretSpec#data
        '''
        result = self._values.get("data")
        return typing.cast(typing.Optional[typing.List["ExternalSecretSpecData"]], result)

    @builtins.property
    def data_from(self) -> typing.Optional[typing.List["ExternalSecretSpecDataFrom"]]:
        '''DataFrom is used to fetch all properties from a specific Provider data If multiple entries are specified, the Secret keys are merged in the specified order.

        :schema: ExternalSecretSpec#dataFrom
        '''
        result = self._values.get("data_from")
        return typing.cast(typing.Optional[typing.List["ExternalSecretSpecDataFrom"]], result)

    @builtins.property
    def refresh_interval(self) -> typing.Optional[builtins.str]:
        '''RefreshInterval is the amount of time before the values are read again from the SecretStore provider, specified as Golang Duration strings.

        Valid time units are "ns", "us" (or "µs"), "ms", "s", "m", "h"
        Example values: "1h0m0s", "2h30m0s", "10m0s"
        May be set to "0s" to fetch and create it once. Defaults to 1h0m0s.

        :default: 1h0m0s.

        :schema: ExternalSecretSpec#refreshInterval
        '''
        result = self._values.get("refresh_interval")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def refresh_policy(self) -> typing.Optional["ExternalSecretSpecRefreshPolicy"]:
        '''RefreshPolicy determines how the ExternalSecret should be refreshed: - CreatedOnce: Creates the Secret only if it does not exist and does not update it thereafter - Periodic: Synchronizes the Secret from the external source at regular intervals specified by refreshInterval.

        No periodic updates occur if refreshInterval is 0.

        - OnChange: Only synchronizes the Secret when the ExternalSecret's metadata or specification changes

        :schema: ExternalSecretSpec#refreshPolicy
        '''
        result = self._values.get("refresh_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecRefreshPolicy"], result)

    @builtins.property
    def secret_store_ref(self) -> typing.Optional["ExternalSecretSpecSecretStoreRef"]:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretSpec#secretStoreRef
        '''
        result = self._values.get("secret_store_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecSecretStoreRef"], result)

    @builtins.property
    def sync_windows(self) -> typing.Optional["ExternalSecretSpecSyncWindows"]:
        '''SyncWindows optionally restricts when periodic refreshes may occur.

        Evaluated in UTC, only for Periodic refresh policy (or when refreshPolicy is unset).

        :schema: ExternalSecretSpec#syncWindows
        '''
        result = self._values.get("sync_windows")
        return typing.cast(typing.Optional["ExternalSecretSpecSyncWindows"], result)

    @builtins.property
    def target(self) -> typing.Optional["ExternalSecretSpecTarget"]:
        '''ExternalSecretTarget defines the Kubernetes Secret to be created, there can be only one target per ExternalSecret.

        :schema: ExternalSecretSpec#target
        '''
        result = self._values.get("target")
        return typing.cast(typing.Optional["ExternalSecretSpecTarget"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecData",
    jsii_struct_bases=[],
    name_mapping={
        "remote_ref": "remoteRef",
        "secret_key": "secretKey",
        "source_ref": "sourceRef",
    },
)
class ExternalSecretSpecData:
    def __init__(
        self,
        *,
        remote_ref: typing.Union["ExternalSecretSpecDataRemoteRef", typing.Dict[builtins.str, typing.Any]],
        secret_key: builtins.str,
        source_ref: typing.Optional[typing.Union["ExternalSecretSpecDataSourceRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretData defines the connection between the Kubernetes Secret key (spec.data.) and the Provider data.

        :param remote_ref: RemoteRef points to the remote secret and defines which secret (version/property/..) to fetch.
        :param secret_key: The key in the Kubernetes Secret to store the value.
        :param source_ref: SourceRef allows you to override the source from which the value will be pulled.

        :schema: ExternalSecretSpecData
        '''
        if isinstance(remote_ref, dict):
            remote_ref = ExternalSecretSpecDataRemoteRef(**remote_ref)
        if isinstance(source_ref, dict):
            source_ref = ExternalSecretSpecDataSourceRef(**source_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__475d807ac9fbc706d9ba6234ed898b602897f6af687b51a5cfabc7a77de0d4ce)
            check_type(argname="argument remote_ref", value=remote_ref, expected_type=type_hints["remote_ref"])
            check_type(argname="argument secret_key", value=secret_key, expected_type=type_hints["secret_key"])
            check_type(argname="argument source_ref", value=source_ref, expected_type=type_hints["source_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "remote_ref": remote_ref,
            "secret_key": secret_key,
        }
        if source_ref is not None:
            self._values["source_ref"] = source_ref

    @builtins.property
    def remote_ref(self) -> "ExternalSecretSpecDataRemoteRef":
        '''RemoteRef points to the remote secret and defines which secret (version/property/..) to fetch.

        :schema: ExternalSecretSpecData#remoteRef
        '''
        result = self._values.get("remote_ref")
        assert result is not None, "Required property 'remote_ref' is missing"
        return typing.cast("ExternalSecretSpecDataRemoteRef", result)

    @builtins.property
    def secret_key(self) -> builtins.str:
        '''The key in the Kubernetes Secret to store the value.

        :schema: ExternalSecretSpecData#secretKey
        '''
        result = self._values.get("secret_key")
        assert result is not None, "Required property 'secret_key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def source_ref(self) -> typing.Optional["ExternalSecretSpecDataSourceRef"]:
        '''SourceRef allows you to override the source from which the value will be pulled.

        :schema: ExternalSecretSpecData#sourceRef
        '''
        result = self._values.get("source_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecDataSourceRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecData(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFrom",
    jsii_struct_bases=[],
    name_mapping={
        "extract": "extract",
        "find": "find",
        "rewrite": "rewrite",
        "source_ref": "sourceRef",
    },
)
class ExternalSecretSpecDataFrom:
    def __init__(
        self,
        *,
        extract: typing.Optional[typing.Union["ExternalSecretSpecDataFromExtract", typing.Dict[builtins.str, typing.Any]]] = None,
        find: typing.Optional[typing.Union["ExternalSecretSpecDataFromFind", typing.Dict[builtins.str, typing.Any]]] = None,
        rewrite: typing.Optional[typing.Sequence[typing.Union["ExternalSecretSpecDataFromRewrite", typing.Dict[builtins.str, typing.Any]]]] = None,
        source_ref: typing.Optional[typing.Union["ExternalSecretSpecDataFromSourceRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretDataFromRemoteRef defines the connection between the Kubernetes Secret keys and the Provider data when using DataFrom to fetch multiple values from a Provider.

        :param extract: Used to extract multiple key/value pairs from one secret Note: Extract does not support sourceRef.Generator or sourceRef.GeneratorRef.
        :param find: Used to find secrets based on tags or regular expressions Note: Find does not support sourceRef.Generator or sourceRef.GeneratorRef.
        :param rewrite: Used to rewrite secret Keys after getting them from the secret Provider Multiple Rewrite operations can be provided. They are applied in a layered order (first to last)
        :param source_ref: SourceRef points to a store or generator which contains secret values ready to use. Use this in combination with Extract or Find pull values out of a specific SecretStore. When sourceRef points to a generator Extract or Find is not supported. The generator returns a static map of values

        :schema: ExternalSecretSpecDataFrom
        '''
        if isinstance(extract, dict):
            extract = ExternalSecretSpecDataFromExtract(**extract)
        if isinstance(find, dict):
            find = ExternalSecretSpecDataFromFind(**find)
        if isinstance(source_ref, dict):
            source_ref = ExternalSecretSpecDataFromSourceRef(**source_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__5652c1cf0894311801be60a13dd81647750db80e32bc8f49fe3e8235021c6c91)
            check_type(argname="argument extract", value=extract, expected_type=type_hints["extract"])
            check_type(argname="argument find", value=find, expected_type=type_hints["find"])
            check_type(argname="argument rewrite", value=rewrite, expected_type=type_hints["rewrite"])
            check_type(argname="argument source_ref", value=source_ref, expected_type=type_hints["source_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if extract is not None:
            self._values["extract"] = extract
        if find is not None:
            self._values["find"] = find
        if rewrite is not None:
            self._values["rewrite"] = rewrite
        if source_ref is not None:
            self._values["source_ref"] = source_ref

    @builtins.property
    def extract(self) -> typing.Optional["ExternalSecretSpecDataFromExtract"]:
        '''Used to extract multiple key/value pairs from one secret Note: Extract does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :schema: ExternalSecretSpecDataFrom#extract
        '''
        result = self._values.get("extract")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromExtract"], result)

    @builtins.property
    def find(self) -> typing.Optional["ExternalSecretSpecDataFromFind"]:
        '''Used to find secrets based on tags or regular expressions Note: Find does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :schema: ExternalSecretSpecDataFrom#find
        '''
        result = self._values.get("find")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromFind"], result)

    @builtins.property
    def rewrite(
        self,
    ) -> typing.Optional[typing.List["ExternalSecretSpecDataFromRewrite"]]:
        '''Used to rewrite secret Keys after getting them from the secret Provider Multiple Rewrite operations can be provided.

        They are applied in a layered order (first to last)

        :schema: ExternalSecretSpecDataFrom#rewrite
        '''
        result = self._values.get("rewrite")
        return typing.cast(typing.Optional[typing.List["ExternalSecretSpecDataFromRewrite"]], result)

    @builtins.property
    def source_ref(self) -> typing.Optional["ExternalSecretSpecDataFromSourceRef"]:
        '''SourceRef points to a store or generator which contains secret values ready to use.

        Use this in combination with Extract or Find pull values out of
        a specific SecretStore.
        When sourceRef points to a generator Extract or Find is not supported.
        The generator returns a static map of values

        :schema: ExternalSecretSpecDataFrom#sourceRef
        '''
        result = self._values.get("source_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromSourceRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFrom(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromExtract",
    jsii_struct_bases=[],
    name_mapping={
        "key": "key",
        "conversion_strategy": "conversionStrategy",
        "decoding_strategy": "decodingStrategy",
        "metadata_policy": "metadataPolicy",
        "null_byte_policy": "nullBytePolicy",
        "property": "property",
        "version": "version",
    },
)
class ExternalSecretSpecDataFromExtract:
    def __init__(
        self,
        *,
        key: builtins.str,
        conversion_strategy: typing.Optional["ExternalSecretSpecDataFromExtractConversionStrategy"] = None,
        decoding_strategy: typing.Optional["ExternalSecretSpecDataFromExtractDecodingStrategy"] = None,
        metadata_policy: typing.Optional["ExternalSecretSpecDataFromExtractMetadataPolicy"] = None,
        null_byte_policy: typing.Optional["ExternalSecretSpecDataFromExtractNullBytePolicy"] = None,
        property: typing.Optional[builtins.str] = None,
        version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''Used to extract multiple key/value pairs from one secret Note: Extract does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :param key: Key is the key used in the Provider, mandatory.
        :param conversion_strategy: Used to define a conversion Strategy. Defaults to Default when omitted. Default: Default when omitted.
        :param decoding_strategy: Used to define a decoding Strategy. Defaults to None when omitted. Default: None when omitted.
        :param metadata_policy: Policy for fetching tags/labels from provider secrets, possible options are Fetch, None. Defaults to None Default: None
        :param null_byte_policy: Controls how ESO handles fetched secret data containing NUL bytes for this source.
        :param property: Used to select a specific property of the Provider value (if a map), if supported.
        :param version: Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretSpecDataFromExtract
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__f1a826e166202abd8ad5a07dc322befd6750a4902692ec4d9ff881dbadc8d102)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument conversion_strategy", value=conversion_strategy, expected_type=type_hints["conversion_strategy"])
            check_type(argname="argument decoding_strategy", value=decoding_strategy, expected_type=type_hints["decoding_strategy"])
            check_type(argname="argument metadata_policy", value=metadata_policy, expected_type=type_hints["metadata_policy"])
            check_type(argname="argument null_byte_policy", value=null_byte_policy, expected_type=type_hints["null_byte_policy"])
            check_type(argname="argument property", value=property, expected_type=type_hints["property"])
            check_type(argname="argument version", value=version, expected_type=type_hints["version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if conversion_strategy is not None:
            self._values["conversion_strategy"] = conversion_strategy
        if decoding_strategy is not None:
            self._values["decoding_strategy"] = decoding_strategy
        if metadata_policy is not None:
            self._values["metadata_policy"] = metadata_policy
        if null_byte_policy is not None:
            self._values["null_byte_policy"] = null_byte_policy
        if property is not None:
            self._values["property"] = property
        if version is not None:
            self._values["version"] = version

    @builtins.property
    def key(self) -> builtins.str:
        '''Key is the key used in the Provider, mandatory.

        :schema: ExternalSecretSpecDataFromExtract#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def conversion_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromExtractConversionStrategy"]:
        '''Used to define a conversion Strategy.

        Defaults to Default when omitted.

        :default: Default when omitted.

        :schema: ExternalSecretSpecDataFromExtract#conversionStrategy
        '''
        result = self._values.get("conversion_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromExtractConversionStrategy"], result)

    @builtins.property
    def decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromExtractDecodingStrategy"]:
        '''Used to define a decoding Strategy.

        Defaults to None when omitted.

        :default: None when omitted.

        :schema: ExternalSecretSpecDataFromExtract#decodingStrategy
        '''
        result = self._values.get("decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromExtractDecodingStrategy"], result)

    @builtins.property
    def metadata_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromExtractMetadataPolicy"]:
        '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

        Defaults to None

        :default: None

        :schema: ExternalSecretSpecDataFromExtract#metadataPolicy
        '''
        result = self._values.get("metadata_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromExtractMetadataPolicy"], result)

    @builtins.property
    def null_byte_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromExtractNullBytePolicy"]:
        '''Controls how ESO handles fetched secret data containing NUL bytes for this source.

        :schema: ExternalSecretSpecDataFromExtract#nullBytePolicy
        '''
        result = self._values.get("null_byte_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromExtractNullBytePolicy"], result)

    @builtins.property
    def property(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific property of the Provider value (if a map), if supported.

        :schema: ExternalSecretSpecDataFromExtract#property
        '''
        result = self._values.get("property")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def version(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretSpecDataFromExtract#version
        '''
        result = self._values.get("version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromExtract(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromExtractConversionStrategy"
)
class ExternalSecretSpecDataFromExtractConversionStrategy(enum.Enum):
    '''Used to define a conversion Strategy.

    Defaults to Default when omitted.

    :default: Default when omitted.

    :schema: ExternalSecretSpecDataFromExtractConversionStrategy
    '''

    DEFAULT = "DEFAULT"
    '''Default.'''
    UNICODE = "UNICODE"
    '''Unicode.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromExtractDecodingStrategy"
)
class ExternalSecretSpecDataFromExtractDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy.

    Defaults to None when omitted.

    :default: None when omitted.

    :schema: ExternalSecretSpecDataFromExtractDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromExtractMetadataPolicy"
)
class ExternalSecretSpecDataFromExtractMetadataPolicy(enum.Enum):
    '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

    Defaults to None

    :default: None

    :schema: ExternalSecretSpecDataFromExtractMetadataPolicy
    '''

    NONE = "NONE"
    '''None.'''
    FETCH = "FETCH"
    '''Fetch.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromExtractNullBytePolicy"
)
class ExternalSecretSpecDataFromExtractNullBytePolicy(enum.Enum):
    '''Controls how ESO handles fetched secret data containing NUL bytes for this source.

    :schema: ExternalSecretSpecDataFromExtractNullBytePolicy
    '''

    IGNORE = "IGNORE"
    '''Ignore.'''
    FAIL = "FAIL"
    '''Fail.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromFind",
    jsii_struct_bases=[],
    name_mapping={
        "conversion_strategy": "conversionStrategy",
        "decoding_strategy": "decodingStrategy",
        "name": "name",
        "null_byte_policy": "nullBytePolicy",
        "path": "path",
        "tags": "tags",
    },
)
class ExternalSecretSpecDataFromFind:
    def __init__(
        self,
        *,
        conversion_strategy: typing.Optional["ExternalSecretSpecDataFromFindConversionStrategy"] = None,
        decoding_strategy: typing.Optional["ExternalSecretSpecDataFromFindDecodingStrategy"] = None,
        name: typing.Optional[typing.Union["ExternalSecretSpecDataFromFindName", typing.Dict[builtins.str, typing.Any]]] = None,
        null_byte_policy: typing.Optional["ExternalSecretSpecDataFromFindNullBytePolicy"] = None,
        path: typing.Optional[builtins.str] = None,
        tags: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    ) -> None:
        '''Used to find secrets based on tags or regular expressions Note: Find does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :param conversion_strategy: Used to define a conversion Strategy. Defaults to Default when omitted. Default: Default when omitted.
        :param decoding_strategy: Used to define a decoding Strategy. Defaults to None when omitted. Default: None when omitted.
        :param name: Finds secrets based on the name.
        :param null_byte_policy: Controls how ESO handles fetched secret data containing NUL bytes for this find source.
        :param path: A root path to start the find operations.
        :param tags: Find secrets based on tags.

        :schema: ExternalSecretSpecDataFromFind
        '''
        if isinstance(name, dict):
            name = ExternalSecretSpecDataFromFindName(**name)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__d8edc5b5404aea834ef81913f06d491df720ba9c52cc127400dacf95267b6e0c)
            check_type(argname="argument conversion_strategy", value=conversion_strategy, expected_type=type_hints["conversion_strategy"])
            check_type(argname="argument decoding_strategy", value=decoding_strategy, expected_type=type_hints["decoding_strategy"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument null_byte_policy", value=null_byte_policy, expected_type=type_hints["null_byte_policy"])
            check_type(argname="argument path", value=path, expected_type=type_hints["path"])
            check_type(argname="argument tags", value=tags, expected_type=type_hints["tags"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if conversion_strategy is not None:
            self._values["conversion_strategy"] = conversion_strategy
        if decoding_strategy is not None:
            self._values["decoding_strategy"] = decoding_strategy
        if name is not None:
            self._values["name"] = name
        if null_byte_policy is not None:
            self._values["null_byte_policy"] = null_byte_policy
        if path is not None:
            self._values["path"] = path
        if tags is not None:
            self._values["tags"] = tags

    @builtins.property
    def conversion_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromFindConversionStrategy"]:
        '''Used to define a conversion Strategy.

        Defaults to Default when omitted.

        :default: Default when omitted.

        :schema: ExternalSecretSpecDataFromFind#conversionStrategy
        '''
        result = self._values.get("conversion_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromFindConversionStrategy"], result)

    @builtins.property
    def decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromFindDecodingStrategy"]:
        '''Used to define a decoding Strategy.

        Defaults to None when omitted.

        :default: None when omitted.

        :schema: ExternalSecretSpecDataFromFind#decodingStrategy
        '''
        result = self._values.get("decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromFindDecodingStrategy"], result)

    @builtins.property
    def name(self) -> typing.Optional["ExternalSecretSpecDataFromFindName"]:
        '''Finds secrets based on the name.

        :schema: ExternalSecretSpecDataFromFind#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromFindName"], result)

    @builtins.property
    def null_byte_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromFindNullBytePolicy"]:
        '''Controls how ESO handles fetched secret data containing NUL bytes for this find source.

        :schema: ExternalSecretSpecDataFromFind#nullBytePolicy
        '''
        result = self._values.get("null_byte_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromFindNullBytePolicy"], result)

    @builtins.property
    def path(self) -> typing.Optional[builtins.str]:
        '''A root path to start the find operations.

        :schema: ExternalSecretSpecDataFromFind#path
        '''
        result = self._values.get("path")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def tags(self) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''Find secrets based on tags.

        :schema: ExternalSecretSpecDataFromFind#tags
        '''
        result = self._values.get("tags")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromFind(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromFindConversionStrategy"
)
class ExternalSecretSpecDataFromFindConversionStrategy(enum.Enum):
    '''Used to define a conversion Strategy.

    Defaults to Default when omitted.

    :default: Default when omitted.

    :schema: ExternalSecretSpecDataFromFindConversionStrategy
    '''

    DEFAULT = "DEFAULT"
    '''Default.'''
    UNICODE = "UNICODE"
    '''Unicode.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromFindDecodingStrategy"
)
class ExternalSecretSpecDataFromFindDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy.

    Defaults to None when omitted.

    :default: None when omitted.

    :schema: ExternalSecretSpecDataFromFindDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromFindName",
    jsii_struct_bases=[],
    name_mapping={"regexp": "regexp"},
)
class ExternalSecretSpecDataFromFindName:
    def __init__(self, *, regexp: typing.Optional[builtins.str] = None) -> None:
        '''Finds secrets based on the name.

        :param regexp: Finds secrets base.

        :schema: ExternalSecretSpecDataFromFindName
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__2e51f0ba94048fcba1af9bf78d0b379efd9e574853c52555f3c81052e7a44e0d)
            check_type(argname="argument regexp", value=regexp, expected_type=type_hints["regexp"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if regexp is not None:
            self._values["regexp"] = regexp

    @builtins.property
    def regexp(self) -> typing.Optional[builtins.str]:
        '''Finds secrets base.

        :schema: ExternalSecretSpecDataFromFindName#regexp
        '''
        result = self._values.get("regexp")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromFindName(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromFindNullBytePolicy")
class ExternalSecretSpecDataFromFindNullBytePolicy(enum.Enum):
    '''Controls how ESO handles fetched secret data containing NUL bytes for this find source.

    :schema: ExternalSecretSpecDataFromFindNullBytePolicy
    '''

    IGNORE = "IGNORE"
    '''Ignore.'''
    FAIL = "FAIL"
    '''Fail.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewrite",
    jsii_struct_bases=[],
    name_mapping={"merge": "merge", "regexp": "regexp", "transform": "transform"},
)
class ExternalSecretSpecDataFromRewrite:
    def __init__(
        self,
        *,
        merge: typing.Optional[typing.Union["ExternalSecretSpecDataFromRewriteMerge", typing.Dict[builtins.str, typing.Any]]] = None,
        regexp: typing.Optional[typing.Union["ExternalSecretSpecDataFromRewriteRegexp", typing.Dict[builtins.str, typing.Any]]] = None,
        transform: typing.Optional[typing.Union["ExternalSecretSpecDataFromRewriteTransform", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretRewrite defines how to rewrite secret data values before they are written to the Secret.

        :param merge: Used to merge key/values in one single Secret The resulting key will contain all values from the specified secrets.
        :param regexp: Used to rewrite with regular expressions. The resulting key will be the output of a regexp.ReplaceAll operation.
        :param transform: Used to apply string transformation on the secrets. The resulting key will be the output of the template applied by the operation.

        :schema: ExternalSecretSpecDataFromRewrite
        '''
        if isinstance(merge, dict):
            merge = ExternalSecretSpecDataFromRewriteMerge(**merge)
        if isinstance(regexp, dict):
            regexp = ExternalSecretSpecDataFromRewriteRegexp(**regexp)
        if isinstance(transform, dict):
            transform = ExternalSecretSpecDataFromRewriteTransform(**transform)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__34a7ea8664e4d3b6a1f3e0ff5e2df2f0dac77ecad4d9e29405fde21c45dcf3f4)
            check_type(argname="argument merge", value=merge, expected_type=type_hints["merge"])
            check_type(argname="argument regexp", value=regexp, expected_type=type_hints["regexp"])
            check_type(argname="argument transform", value=transform, expected_type=type_hints["transform"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if merge is not None:
            self._values["merge"] = merge
        if regexp is not None:
            self._values["regexp"] = regexp
        if transform is not None:
            self._values["transform"] = transform

    @builtins.property
    def merge(self) -> typing.Optional["ExternalSecretSpecDataFromRewriteMerge"]:
        '''Used to merge key/values in one single Secret The resulting key will contain all values from the specified secrets.

        :schema: ExternalSecretSpecDataFromRewrite#merge
        '''
        result = self._values.get("merge")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromRewriteMerge"], result)

    @builtins.property
    def regexp(self) -> typing.Optional["ExternalSecretSpecDataFromRewriteRegexp"]:
        '''Used to rewrite with regular expressions.

        The resulting key will be the output of a regexp.ReplaceAll operation.

        :schema: ExternalSecretSpecDataFromRewrite#regexp
        '''
        result = self._values.get("regexp")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromRewriteRegexp"], result)

    @builtins.property
    def transform(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromRewriteTransform"]:
        '''Used to apply string transformation on the secrets.

        The resulting key will be the output of the template applied by the operation.

        :schema: ExternalSecretSpecDataFromRewrite#transform
        '''
        result = self._values.get("transform")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromRewriteTransform"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromRewrite(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewriteMerge",
    jsii_struct_bases=[],
    name_mapping={
        "conflict_policy": "conflictPolicy",
        "into": "into",
        "priority": "priority",
        "priority_policy": "priorityPolicy",
        "strategy": "strategy",
    },
)
class ExternalSecretSpecDataFromRewriteMerge:
    def __init__(
        self,
        *,
        conflict_policy: typing.Optional["ExternalSecretSpecDataFromRewriteMergeConflictPolicy"] = None,
        into: typing.Optional[builtins.str] = None,
        priority: typing.Optional[typing.Sequence[builtins.str]] = None,
        priority_policy: typing.Optional["ExternalSecretSpecDataFromRewriteMergePriorityPolicy"] = None,
        strategy: typing.Optional["ExternalSecretSpecDataFromRewriteMergeStrategy"] = None,
    ) -> None:
        '''Used to merge key/values in one single Secret The resulting key will contain all values from the specified secrets.

        :param conflict_policy: Used to define the policy to use in conflict resolution.
        :param into: Used to define the target key of the merge operation. Required if strategy is JSON. Ignored otherwise.
        :param priority: Used to define key priority in conflict resolution.
        :param priority_policy: Used to define the policy when a key in the priority list does not exist in the input.
        :param strategy: Used to define the strategy to use in the merge operation.

        :schema: ExternalSecretSpecDataFromRewriteMerge
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__d20754036ee89fd6b0bcd20b5875dee410e09b933e08e4664815ce85715431df)
            check_type(argname="argument conflict_policy", value=conflict_policy, expected_type=type_hints["conflict_policy"])
            check_type(argname="argument into", value=into, expected_type=type_hints["into"])
            check_type(argname="argument priority", value=priority, expected_type=type_hints["priority"])
            check_type(argname="argument priority_policy", value=priority_policy, expected_type=type_hints["priority_policy"])
            check_type(argname="argument strategy", value=strategy, expected_type=type_hints["strategy"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if conflict_policy is not None:
            self._values["conflict_policy"] = conflict_policy
        if into is not None:
            self._values["into"] = into
        if priority is not None:
            self._values["priority"] = priority
        if priority_policy is not None:
            self._values["priority_policy"] = priority_policy
        if strategy is not None:
            self._values["strategy"] = strategy

    @builtins.property
    def conflict_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromRewriteMergeConflictPolicy"]:
        '''Used to define the policy to use in conflict resolution.

        :schema: ExternalSecretSpecDataFromRewriteMerge#conflictPolicy
        '''
        result = self._values.get("conflict_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromRewriteMergeConflictPolicy"], result)

    @builtins.property
    def into(self) -> typing.Optional[builtins.str]:
        '''Used to define the target key of the merge operation.

        Required if strategy is JSON. Ignored otherwise.

        :schema: ExternalSecretSpecDataFromRewriteMerge#into
        '''
        result = self._values.get("into")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def priority(self) -> typing.Optional[typing.List[builtins.str]]:
        '''Used to define key priority in conflict resolution.

        :schema: ExternalSecretSpecDataFromRewriteMerge#priority
        '''
        result = self._values.get("priority")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def priority_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromRewriteMergePriorityPolicy"]:
        '''Used to define the policy when a key in the priority list does not exist in the input.

        :schema: ExternalSecretSpecDataFromRewriteMerge#priorityPolicy
        '''
        result = self._values.get("priority_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromRewriteMergePriorityPolicy"], result)

    @builtins.property
    def strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromRewriteMergeStrategy"]:
        '''Used to define the strategy to use in the merge operation.

        :schema: ExternalSecretSpecDataFromRewriteMerge#strategy
        '''
        result = self._values.get("strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromRewriteMergeStrategy"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromRewriteMerge(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewriteMergeConflictPolicy"
)
class ExternalSecretSpecDataFromRewriteMergeConflictPolicy(enum.Enum):
    '''Used to define the policy to use in conflict resolution.

    :schema: ExternalSecretSpecDataFromRewriteMergeConflictPolicy
    '''

    IGNORE = "IGNORE"
    '''Ignore.'''
    ERROR = "ERROR"
    '''Error.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewriteMergePriorityPolicy"
)
class ExternalSecretSpecDataFromRewriteMergePriorityPolicy(enum.Enum):
    '''Used to define the policy when a key in the priority list does not exist in the input.

    :schema: ExternalSecretSpecDataFromRewriteMergePriorityPolicy
    '''

    IGNORE_NOT_FOUND = "IGNORE_NOT_FOUND"
    '''IgnoreNotFound.'''
    STRICT = "STRICT"
    '''Strict.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewriteMergeStrategy"
)
class ExternalSecretSpecDataFromRewriteMergeStrategy(enum.Enum):
    '''Used to define the strategy to use in the merge operation.

    :schema: ExternalSecretSpecDataFromRewriteMergeStrategy
    '''

    EXTRACT = "EXTRACT"
    '''Extract.'''
    JSON = "JSON"
    '''JSON.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewriteRegexp",
    jsii_struct_bases=[],
    name_mapping={"source": "source", "target": "target"},
)
class ExternalSecretSpecDataFromRewriteRegexp:
    def __init__(self, *, source: builtins.str, target: builtins.str) -> None:
        '''Used to rewrite with regular expressions.

        The resulting key will be the output of a regexp.ReplaceAll operation.

        :param source: Used to define the regular expression of a re.Compiler.
        :param target: Used to define the target pattern of a ReplaceAll operation.

        :schema: ExternalSecretSpecDataFromRewriteRegexp
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__07bb68a64c1898dfd9e6d9598ac03e0577691ae09139179a55d7a71e87a2a001)
            check_type(argname="argument source", value=source, expected_type=type_hints["source"])
            check_type(argname="argument target", value=target, expected_type=type_hints["target"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "source": source,
            "target": target,
        }

    @builtins.property
    def source(self) -> builtins.str:
        '''Used to define the regular expression of a re.Compiler.

        :schema: ExternalSecretSpecDataFromRewriteRegexp#source
        '''
        result = self._values.get("source")
        assert result is not None, "Required property 'source' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def target(self) -> builtins.str:
        '''Used to define the target pattern of a ReplaceAll operation.

        :schema: ExternalSecretSpecDataFromRewriteRegexp#target
        '''
        result = self._values.get("target")
        assert result is not None, "Required property 'target' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromRewriteRegexp(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromRewriteTransform",
    jsii_struct_bases=[],
    name_mapping={"template": "template"},
)
class ExternalSecretSpecDataFromRewriteTransform:
    def __init__(self, *, template: builtins.str) -> None:
        '''Used to apply string transformation on the secrets.

        The resulting key will be the output of the template applied by the operation.

        :param template: Used to define the template to apply on the secret name. ``.value `` will specify the secret name in the template.

        :schema: ExternalSecretSpecDataFromRewriteTransform
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__ea77cb2fa93be64a812dd1b6f1c4d5a3c14a8077b583881a578654ce0f1efbe9)
            check_type(argname="argument template", value=template, expected_type=type_hints["template"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "template": template,
        }

    @builtins.property
    def template(self) -> builtins.str:
        '''Used to define the template to apply on the secret name.

        ``.value `` will specify the secret name in the template.

        :schema: ExternalSecretSpecDataFromRewriteTransform#template
        '''
        result = self._values.get("template")
        assert result is not None, "Required property 'template' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromRewriteTransform(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromSourceRef",
    jsii_struct_bases=[],
    name_mapping={"generator_ref": "generatorRef", "store_ref": "storeRef"},
)
class ExternalSecretSpecDataFromSourceRef:
    def __init__(
        self,
        *,
        generator_ref: typing.Optional[typing.Union["ExternalSecretSpecDataFromSourceRefGeneratorRef", typing.Dict[builtins.str, typing.Any]]] = None,
        store_ref: typing.Optional[typing.Union["ExternalSecretSpecDataFromSourceRefStoreRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''SourceRef points to a store or generator which contains secret values ready to use.

        Use this in combination with Extract or Find pull values out of
        a specific SecretStore.
        When sourceRef points to a generator Extract or Find is not supported.
        The generator returns a static map of values

        :param generator_ref: GeneratorRef points to a generator custom resource.
        :param store_ref: SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretSpecDataFromSourceRef
        '''
        if isinstance(generator_ref, dict):
            generator_ref = ExternalSecretSpecDataFromSourceRefGeneratorRef(**generator_ref)
        if isinstance(store_ref, dict):
            store_ref = ExternalSecretSpecDataFromSourceRefStoreRef(**store_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6bdacd781fe4a8fdd7dba12242f261be35b0741dfecfc6cad806edac31244739)
            check_type(argname="argument generator_ref", value=generator_ref, expected_type=type_hints["generator_ref"])
            check_type(argname="argument store_ref", value=store_ref, expected_type=type_hints["store_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if generator_ref is not None:
            self._values["generator_ref"] = generator_ref
        if store_ref is not None:
            self._values["store_ref"] = store_ref

    @builtins.property
    def generator_ref(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromSourceRefGeneratorRef"]:
        '''GeneratorRef points to a generator custom resource.

        :schema: ExternalSecretSpecDataFromSourceRef#generatorRef
        '''
        result = self._values.get("generator_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromSourceRefGeneratorRef"], result)

    @builtins.property
    def store_ref(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromSourceRefStoreRef"]:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretSpecDataFromSourceRef#storeRef
        '''
        result = self._values.get("store_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromSourceRefStoreRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromSourceRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromSourceRefGeneratorRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name", "api_version": "apiVersion"},
)
class ExternalSecretSpecDataFromSourceRefGeneratorRef:
    def __init__(
        self,
        *,
        kind: "ExternalSecretSpecDataFromSourceRefGeneratorRefKind",
        name: builtins.str,
        api_version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''GeneratorRef points to a generator custom resource.

        :param kind: Specify the Kind of the generator resource.
        :param name: Specify the name of the generator resource.
        :param api_version: Specify the apiVersion of the generator resource.

        :schema: ExternalSecretSpecDataFromSourceRefGeneratorRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__5de20fbeaa188a66ea77f30598485617164e180abadf40ceea35c89fcb3a3de0)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument api_version", value=api_version, expected_type=type_hints["api_version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "name": name,
        }
        if api_version is not None:
            self._values["api_version"] = api_version

    @builtins.property
    def kind(self) -> "ExternalSecretSpecDataFromSourceRefGeneratorRefKind":
        '''Specify the Kind of the generator resource.

        :schema: ExternalSecretSpecDataFromSourceRefGeneratorRef#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast("ExternalSecretSpecDataFromSourceRefGeneratorRefKind", result)

    @builtins.property
    def name(self) -> builtins.str:
        '''Specify the name of the generator resource.

        :schema: ExternalSecretSpecDataFromSourceRefGeneratorRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def api_version(self) -> typing.Optional[builtins.str]:
        '''Specify the apiVersion of the generator resource.

        :schema: ExternalSecretSpecDataFromSourceRefGeneratorRef#apiVersion
        '''
        result = self._values.get("api_version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromSourceRefGeneratorRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromSourceRefGeneratorRefKind"
)
class ExternalSecretSpecDataFromSourceRefGeneratorRefKind(enum.Enum):
    '''Specify the Kind of the generator resource.

    :schema: ExternalSecretSpecDataFromSourceRefGeneratorRefKind
    '''

    ACR_ACCESS_TOKEN = "ACR_ACCESS_TOKEN"
    '''ACRAccessToken.'''
    BEYONDTRUST_WORKLOAD_CREDENTIALS_DYNAMIC_SECRET = "BEYONDTRUST_WORKLOAD_CREDENTIALS_DYNAMIC_SECRET"
    '''BeyondtrustWorkloadCredentialsDynamicSecret.'''
    CLUSTER_GENERATOR = "CLUSTER_GENERATOR"
    '''ClusterGenerator.'''
    CLOUDSMITH_ACCESS_TOKEN = "CLOUDSMITH_ACCESS_TOKEN"
    '''CloudsmithAccessToken.'''
    ECR_AUTHORIZATION_TOKEN = "ECR_AUTHORIZATION_TOKEN"
    '''ECRAuthorizationToken.'''
    FAKE = "FAKE"
    '''Fake.'''
    GCR_ACCESS_TOKEN = "GCR_ACCESS_TOKEN"
    '''GCRAccessToken.'''
    GITHUB_ACCESS_TOKEN = "GITHUB_ACCESS_TOKEN"
    '''GithubAccessToken.'''
    GITLAB_DEPLOY_TOKEN = "GITLAB_DEPLOY_TOKEN"
    '''GitlabDeployToken.'''
    QUAY_ACCESS_TOKEN = "QUAY_ACCESS_TOKEN"
    '''QuayAccessToken.'''
    PASSWORD = "PASSWORD"
    '''Password.'''
    SSH_KEY = "SSH_KEY"
    '''SSHKey.'''
    STS_SESSION_TOKEN = "STS_SESSION_TOKEN"
    '''STSSessionToken.'''
    UUID = "UUID"
    '''UUID.'''
    VAULT_DYNAMIC_SECRET = "VAULT_DYNAMIC_SECRET"
    '''VaultDynamicSecret.'''
    WEBHOOK = "WEBHOOK"
    '''Webhook.'''
    GRAFANA = "GRAFANA"
    '''Grafana.'''
    MFA = "MFA"
    '''MFA.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromSourceRefStoreRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name"},
)
class ExternalSecretSpecDataFromSourceRefStoreRef:
    def __init__(
        self,
        *,
        kind: typing.Optional["ExternalSecretSpecDataFromSourceRefStoreRefKind"] = None,
        name: typing.Optional[builtins.str] = None,
    ) -> None:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :param kind: Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``. Default: SecretStore`
        :param name: Name of the SecretStore resource.

        :schema: ExternalSecretSpecDataFromSourceRefStoreRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__3d42eeaaa91f59431f0eccdb8fa40fd12da13f9e7dd734564ff4c548604fd749)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if kind is not None:
            self._values["kind"] = kind
        if name is not None:
            self._values["name"] = name

    @builtins.property
    def kind(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataFromSourceRefStoreRefKind"]:
        '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

        :default: SecretStore`

        :schema: ExternalSecretSpecDataFromSourceRefStoreRef#kind
        '''
        result = self._values.get("kind")
        return typing.cast(typing.Optional["ExternalSecretSpecDataFromSourceRefStoreRefKind"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name of the SecretStore resource.

        :schema: ExternalSecretSpecDataFromSourceRefStoreRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataFromSourceRefStoreRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataFromSourceRefStoreRefKind"
)
class ExternalSecretSpecDataFromSourceRefStoreRefKind(enum.Enum):
    '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

    :default: SecretStore`

    :schema: ExternalSecretSpecDataFromSourceRefStoreRefKind
    '''

    SECRET_STORE = "SECRET_STORE"
    '''SecretStore.'''
    CLUSTER_SECRET_STORE = "CLUSTER_SECRET_STORE"
    '''ClusterSecretStore.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataRemoteRef",
    jsii_struct_bases=[],
    name_mapping={
        "key": "key",
        "conversion_strategy": "conversionStrategy",
        "decoding_strategy": "decodingStrategy",
        "metadata_policy": "metadataPolicy",
        "null_byte_policy": "nullBytePolicy",
        "property": "property",
        "version": "version",
    },
)
class ExternalSecretSpecDataRemoteRef:
    def __init__(
        self,
        *,
        key: builtins.str,
        conversion_strategy: typing.Optional["ExternalSecretSpecDataRemoteRefConversionStrategy"] = None,
        decoding_strategy: typing.Optional["ExternalSecretSpecDataRemoteRefDecodingStrategy"] = None,
        metadata_policy: typing.Optional["ExternalSecretSpecDataRemoteRefMetadataPolicy"] = None,
        null_byte_policy: typing.Optional["ExternalSecretSpecDataRemoteRefNullBytePolicy"] = None,
        property: typing.Optional[builtins.str] = None,
        version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''RemoteRef points to the remote secret and defines which secret (version/property/..) to fetch.

        :param key: Key is the key used in the Provider, mandatory.
        :param conversion_strategy: Used to define a conversion Strategy. Defaults to Default when omitted. Default: Default when omitted.
        :param decoding_strategy: Used to define a decoding Strategy. Defaults to None when omitted. Default: None when omitted.
        :param metadata_policy: Policy for fetching tags/labels from provider secrets, possible options are Fetch, None. Defaults to None Default: None
        :param null_byte_policy: Controls how ESO handles fetched secret data containing NUL bytes for this source.
        :param property: Used to select a specific property of the Provider value (if a map), if supported.
        :param version: Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretSpecDataRemoteRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8fa135eb71c3b0e514a59fb4221d3694ecf54b320c828591b0435c574fdfb02c)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument conversion_strategy", value=conversion_strategy, expected_type=type_hints["conversion_strategy"])
            check_type(argname="argument decoding_strategy", value=decoding_strategy, expected_type=type_hints["decoding_strategy"])
            check_type(argname="argument metadata_policy", value=metadata_policy, expected_type=type_hints["metadata_policy"])
            check_type(argname="argument null_byte_policy", value=null_byte_policy, expected_type=type_hints["null_byte_policy"])
            check_type(argname="argument property", value=property, expected_type=type_hints["property"])
            check_type(argname="argument version", value=version, expected_type=type_hints["version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if conversion_strategy is not None:
            self._values["conversion_strategy"] = conversion_strategy
        if decoding_strategy is not None:
            self._values["decoding_strategy"] = decoding_strategy
        if metadata_policy is not None:
            self._values["metadata_policy"] = metadata_policy
        if null_byte_policy is not None:
            self._values["null_byte_policy"] = null_byte_policy
        if property is not None:
            self._values["property"] = property
        if version is not None:
            self._values["version"] = version

    @builtins.property
    def key(self) -> builtins.str:
        '''Key is the key used in the Provider, mandatory.

        :schema: ExternalSecretSpecDataRemoteRef#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def conversion_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataRemoteRefConversionStrategy"]:
        '''Used to define a conversion Strategy.

        Defaults to Default when omitted.

        :default: Default when omitted.

        :schema: ExternalSecretSpecDataRemoteRef#conversionStrategy
        '''
        result = self._values.get("conversion_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataRemoteRefConversionStrategy"], result)

    @builtins.property
    def decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataRemoteRefDecodingStrategy"]:
        '''Used to define a decoding Strategy.

        Defaults to None when omitted.

        :default: None when omitted.

        :schema: ExternalSecretSpecDataRemoteRef#decodingStrategy
        '''
        result = self._values.get("decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataRemoteRefDecodingStrategy"], result)

    @builtins.property
    def metadata_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataRemoteRefMetadataPolicy"]:
        '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

        Defaults to None

        :default: None

        :schema: ExternalSecretSpecDataRemoteRef#metadataPolicy
        '''
        result = self._values.get("metadata_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataRemoteRefMetadataPolicy"], result)

    @builtins.property
    def null_byte_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataRemoteRefNullBytePolicy"]:
        '''Controls how ESO handles fetched secret data containing NUL bytes for this source.

        :schema: ExternalSecretSpecDataRemoteRef#nullBytePolicy
        '''
        result = self._values.get("null_byte_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecDataRemoteRefNullBytePolicy"], result)

    @builtins.property
    def property(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific property of the Provider value (if a map), if supported.

        :schema: ExternalSecretSpecDataRemoteRef#property
        '''
        result = self._values.get("property")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def version(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretSpecDataRemoteRef#version
        '''
        result = self._values.get("version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataRemoteRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataRemoteRefConversionStrategy"
)
class ExternalSecretSpecDataRemoteRefConversionStrategy(enum.Enum):
    '''Used to define a conversion Strategy.

    Defaults to Default when omitted.

    :default: Default when omitted.

    :schema: ExternalSecretSpecDataRemoteRefConversionStrategy
    '''

    DEFAULT = "DEFAULT"
    '''Default.'''
    UNICODE = "UNICODE"
    '''Unicode.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataRemoteRefDecodingStrategy"
)
class ExternalSecretSpecDataRemoteRefDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy.

    Defaults to None when omitted.

    :default: None when omitted.

    :schema: ExternalSecretSpecDataRemoteRefDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataRemoteRefMetadataPolicy"
)
class ExternalSecretSpecDataRemoteRefMetadataPolicy(enum.Enum):
    '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

    Defaults to None

    :default: None

    :schema: ExternalSecretSpecDataRemoteRefMetadataPolicy
    '''

    NONE = "NONE"
    '''None.'''
    FETCH = "FETCH"
    '''Fetch.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataRemoteRefNullBytePolicy"
)
class ExternalSecretSpecDataRemoteRefNullBytePolicy(enum.Enum):
    '''Controls how ESO handles fetched secret data containing NUL bytes for this source.

    :schema: ExternalSecretSpecDataRemoteRefNullBytePolicy
    '''

    IGNORE = "IGNORE"
    '''Ignore.'''
    FAIL = "FAIL"
    '''Fail.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataSourceRef",
    jsii_struct_bases=[],
    name_mapping={"generator_ref": "generatorRef", "store_ref": "storeRef"},
)
class ExternalSecretSpecDataSourceRef:
    def __init__(
        self,
        *,
        generator_ref: typing.Optional[typing.Union["ExternalSecretSpecDataSourceRefGeneratorRef", typing.Dict[builtins.str, typing.Any]]] = None,
        store_ref: typing.Optional[typing.Union["ExternalSecretSpecDataSourceRefStoreRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''SourceRef allows you to override the source from which the value will be pulled.

        :param generator_ref: GeneratorRef points to a generator custom resource. Deprecated: The generatorRef is not implemented in .data[]. this will be removed with v1.
        :param store_ref: SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretSpecDataSourceRef
        '''
        if isinstance(generator_ref, dict):
            generator_ref = ExternalSecretSpecDataSourceRefGeneratorRef(**generator_ref)
        if isinstance(store_ref, dict):
            store_ref = ExternalSecretSpecDataSourceRefStoreRef(**store_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7be84602ab6a48aa2f02f1f2788d8e8c0f04bbaeb305a58dc5aa9893b3b36afd)
            check_type(argname="argument generator_ref", value=generator_ref, expected_type=type_hints["generator_ref"])
            check_type(argname="argument store_ref", value=store_ref, expected_type=type_hints["store_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if generator_ref is not None:
            self._values["generator_ref"] = generator_ref
        if store_ref is not None:
            self._values["store_ref"] = store_ref

    @builtins.property
    def generator_ref(
        self,
    ) -> typing.Optional["ExternalSecretSpecDataSourceRefGeneratorRef"]:
        '''GeneratorRef points to a generator custom resource.

        Deprecated: The generatorRef is not implemented in .data[].
        this will be removed with v1.

        :schema: ExternalSecretSpecDataSourceRef#generatorRef
        '''
        result = self._values.get("generator_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecDataSourceRefGeneratorRef"], result)

    @builtins.property
    def store_ref(self) -> typing.Optional["ExternalSecretSpecDataSourceRefStoreRef"]:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretSpecDataSourceRef#storeRef
        '''
        result = self._values.get("store_ref")
        return typing.cast(typing.Optional["ExternalSecretSpecDataSourceRefStoreRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataSourceRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataSourceRefGeneratorRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name", "api_version": "apiVersion"},
)
class ExternalSecretSpecDataSourceRefGeneratorRef:
    def __init__(
        self,
        *,
        kind: "ExternalSecretSpecDataSourceRefGeneratorRefKind",
        name: builtins.str,
        api_version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''GeneratorRef points to a generator custom resource.

        Deprecated: The generatorRef is not implemented in .data[].
        this will be removed with v1.

        :param kind: Specify the Kind of the generator resource.
        :param name: Specify the name of the generator resource.
        :param api_version: Specify the apiVersion of the generator resource.

        :schema: ExternalSecretSpecDataSourceRefGeneratorRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__b555942e78a0d71b49c937e2b35f2d46f77dcb9c587f0bf0826b60ba87744e15)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument api_version", value=api_version, expected_type=type_hints["api_version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "name": name,
        }
        if api_version is not None:
            self._values["api_version"] = api_version

    @builtins.property
    def kind(self) -> "ExternalSecretSpecDataSourceRefGeneratorRefKind":
        '''Specify the Kind of the generator resource.

        :schema: ExternalSecretSpecDataSourceRefGeneratorRef#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast("ExternalSecretSpecDataSourceRefGeneratorRefKind", result)

    @builtins.property
    def name(self) -> builtins.str:
        '''Specify the name of the generator resource.

        :schema: ExternalSecretSpecDataSourceRefGeneratorRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def api_version(self) -> typing.Optional[builtins.str]:
        '''Specify the apiVersion of the generator resource.

        :schema: ExternalSecretSpecDataSourceRefGeneratorRef#apiVersion
        '''
        result = self._values.get("api_version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataSourceRefGeneratorRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataSourceRefGeneratorRefKind"
)
class ExternalSecretSpecDataSourceRefGeneratorRefKind(enum.Enum):
    '''Specify the Kind of the generator resource.

    :schema: ExternalSecretSpecDataSourceRefGeneratorRefKind
    '''

    ACR_ACCESS_TOKEN = "ACR_ACCESS_TOKEN"
    '''ACRAccessToken.'''
    BEYONDTRUST_WORKLOAD_CREDENTIALS_DYNAMIC_SECRET = "BEYONDTRUST_WORKLOAD_CREDENTIALS_DYNAMIC_SECRET"
    '''BeyondtrustWorkloadCredentialsDynamicSecret.'''
    CLUSTER_GENERATOR = "CLUSTER_GENERATOR"
    '''ClusterGenerator.'''
    CLOUDSMITH_ACCESS_TOKEN = "CLOUDSMITH_ACCESS_TOKEN"
    '''CloudsmithAccessToken.'''
    ECR_AUTHORIZATION_TOKEN = "ECR_AUTHORIZATION_TOKEN"
    '''ECRAuthorizationToken.'''
    FAKE = "FAKE"
    '''Fake.'''
    GCR_ACCESS_TOKEN = "GCR_ACCESS_TOKEN"
    '''GCRAccessToken.'''
    GITHUB_ACCESS_TOKEN = "GITHUB_ACCESS_TOKEN"
    '''GithubAccessToken.'''
    GITLAB_DEPLOY_TOKEN = "GITLAB_DEPLOY_TOKEN"
    '''GitlabDeployToken.'''
    QUAY_ACCESS_TOKEN = "QUAY_ACCESS_TOKEN"
    '''QuayAccessToken.'''
    PASSWORD = "PASSWORD"
    '''Password.'''
    SSH_KEY = "SSH_KEY"
    '''SSHKey.'''
    STS_SESSION_TOKEN = "STS_SESSION_TOKEN"
    '''STSSessionToken.'''
    UUID = "UUID"
    '''UUID.'''
    VAULT_DYNAMIC_SECRET = "VAULT_DYNAMIC_SECRET"
    '''VaultDynamicSecret.'''
    WEBHOOK = "WEBHOOK"
    '''Webhook.'''
    GRAFANA = "GRAFANA"
    '''Grafana.'''
    MFA = "MFA"
    '''MFA.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecDataSourceRefStoreRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name"},
)
class ExternalSecretSpecDataSourceRefStoreRef:
    def __init__(
        self,
        *,
        kind: typing.Optional["ExternalSecretSpecDataSourceRefStoreRefKind"] = None,
        name: typing.Optional[builtins.str] = None,
    ) -> None:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :param kind: Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``. Default: SecretStore`
        :param name: Name of the SecretStore resource.

        :schema: ExternalSecretSpecDataSourceRefStoreRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__dabc81d7c49ec321cf533cf9fc3ff20618ebb29f3711a3be2ce659f592a9b743)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if kind is not None:
            self._values["kind"] = kind
        if name is not None:
            self._values["name"] = name

    @builtins.property
    def kind(self) -> typing.Optional["ExternalSecretSpecDataSourceRefStoreRefKind"]:
        '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

        :default: SecretStore`

        :schema: ExternalSecretSpecDataSourceRefStoreRef#kind
        '''
        result = self._values.get("kind")
        return typing.cast(typing.Optional["ExternalSecretSpecDataSourceRefStoreRefKind"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name of the SecretStore resource.

        :schema: ExternalSecretSpecDataSourceRefStoreRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecDataSourceRefStoreRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecDataSourceRefStoreRefKind")
class ExternalSecretSpecDataSourceRefStoreRefKind(enum.Enum):
    '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

    :default: SecretStore`

    :schema: ExternalSecretSpecDataSourceRefStoreRefKind
    '''

    SECRET_STORE = "SECRET_STORE"
    '''SecretStore.'''
    CLUSTER_SECRET_STORE = "CLUSTER_SECRET_STORE"
    '''ClusterSecretStore.'''


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecRefreshPolicy")
class ExternalSecretSpecRefreshPolicy(enum.Enum):
    '''RefreshPolicy determines how the ExternalSecret should be refreshed: - CreatedOnce: Creates the Secret only if it does not exist and does not update it thereafter - Periodic: Synchronizes the Secret from the external source at regular intervals specified by refreshInterval.

    No periodic updates occur if refreshInterval is 0.

    - OnChange: Only synchronizes the Secret when the ExternalSecret's metadata or specification changes

    :schema: ExternalSecretSpecRefreshPolicy
    '''

    CREATED_ONCE = "CREATED_ONCE"
    '''CreatedOnce.'''
    PERIODIC = "PERIODIC"
    '''Periodic.'''
    ON_CHANGE = "ON_CHANGE"
    '''OnChange.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecSecretStoreRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name"},
)
class ExternalSecretSpecSecretStoreRef:
    def __init__(
        self,
        *,
        kind: typing.Optional["ExternalSecretSpecSecretStoreRefKind"] = None,
        name: typing.Optional[builtins.str] = None,
    ) -> None:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :param kind: Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``. Default: SecretStore`
        :param name: Name of the SecretStore resource.

        :schema: ExternalSecretSpecSecretStoreRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6387a5fae9528a5204090c40d2c2889305f5e0931cd3c9f56f16b857a47f6aab)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if kind is not None:
            self._values["kind"] = kind
        if name is not None:
            self._values["name"] = name

    @builtins.property
    def kind(self) -> typing.Optional["ExternalSecretSpecSecretStoreRefKind"]:
        '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

        :default: SecretStore`

        :schema: ExternalSecretSpecSecretStoreRef#kind
        '''
        result = self._values.get("kind")
        return typing.cast(typing.Optional["ExternalSecretSpecSecretStoreRefKind"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name of the SecretStore resource.

        :schema: ExternalSecretSpecSecretStoreRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecSecretStoreRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecSecretStoreRefKind")
class ExternalSecretSpecSecretStoreRefKind(enum.Enum):
    '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

    :default: SecretStore`

    :schema: ExternalSecretSpecSecretStoreRefKind
    '''

    SECRET_STORE = "SECRET_STORE"
    '''SecretStore.'''
    CLUSTER_SECRET_STORE = "CLUSTER_SECRET_STORE"
    '''ClusterSecretStore.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecSyncWindows",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "windows": "windows"},
)
class ExternalSecretSpecSyncWindows:
    def __init__(
        self,
        *,
        kind: "ExternalSecretSpecSyncWindowsKind",
        windows: typing.Sequence[typing.Union["ExternalSecretSpecSyncWindowsWindows", typing.Dict[builtins.str, typing.Any]]],
    ) -> None:
        '''SyncWindows optionally restricts when periodic refreshes may occur.

        Evaluated in UTC, only for Periodic refresh policy (or when refreshPolicy is unset).

        :param kind: Kind applies to every window in the list. "allow" -- syncs are permitted only while at least one window is active; all other times are blocked. "deny" -- syncs are blocked while any window is active; all other times are permitted.
        :param windows: Windows is the list of schedule+duration pairs.

        :schema: ExternalSecretSpecSyncWindows
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__641ba6dad04362af5e55bcf31fb7e2d331e5c55078b1e5a7f389f1be4e8a4068)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument windows", value=windows, expected_type=type_hints["windows"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "windows": windows,
        }

    @builtins.property
    def kind(self) -> "ExternalSecretSpecSyncWindowsKind":
        '''Kind applies to every window in the list.

        "allow" -- syncs are permitted only while at least one window is active;
        all other times are blocked.
        "deny"  -- syncs are blocked while any window is active;
        all other times are permitted.

        :schema: ExternalSecretSpecSyncWindows#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast("ExternalSecretSpecSyncWindowsKind", result)

    @builtins.property
    def windows(self) -> typing.List["ExternalSecretSpecSyncWindowsWindows"]:
        '''Windows is the list of schedule+duration pairs.

        :schema: ExternalSecretSpecSyncWindows#windows
        '''
        result = self._values.get("windows")
        assert result is not None, "Required property 'windows' is missing"
        return typing.cast(typing.List["ExternalSecretSpecSyncWindowsWindows"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecSyncWindows(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecSyncWindowsKind")
class ExternalSecretSpecSyncWindowsKind(enum.Enum):
    '''Kind applies to every window in the list.

    "allow" -- syncs are permitted only while at least one window is active;
    all other times are blocked.
    "deny"  -- syncs are blocked while any window is active;
    all other times are permitted.

    :schema: ExternalSecretSpecSyncWindowsKind
    '''

    ALLOW = "ALLOW"
    '''allow.'''
    DENY = "DENY"
    '''deny.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecSyncWindowsWindows",
    jsii_struct_bases=[],
    name_mapping={"duration": "duration", "schedule": "schedule"},
)
class ExternalSecretSpecSyncWindowsWindows:
    def __init__(self, *, duration: builtins.str, schedule: builtins.str) -> None:
        '''ExternalSecretSyncWindowEntry defines a single cron-schedule + duration pair within a SyncWindows block.

        :param duration: Duration specifies how long the window stays open after each Schedule firing. Example: "8h".
        :param schedule: Schedule is a standard 5-field cron expression evaluated in UTC, or a named shorthand such as.

        :schema: ExternalSecretSpecSyncWindowsWindows
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__ba080faada01ec11a3d50bde37c100a2858953b9b8de74b904326393115c9575)
            check_type(argname="argument duration", value=duration, expected_type=type_hints["duration"])
            check_type(argname="argument schedule", value=schedule, expected_type=type_hints["schedule"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "duration": duration,
            "schedule": schedule,
        }

    @builtins.property
    def duration(self) -> builtins.str:
        '''Duration specifies how long the window stays open after each Schedule firing.

        Example: "8h".

        :schema: ExternalSecretSpecSyncWindowsWindows#duration
        '''
        result = self._values.get("duration")
        assert result is not None, "Required property 'duration' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def schedule(self) -> builtins.str:
        '''Schedule is a standard 5-field cron expression evaluated in UTC, or a named shorthand such as.

        :daily: or
        :every:

        1h. It marks the start time of
        each window occurrence.
        Example: "0 22 * * 1-5" opens a window every weekday at 22:00 UTC.
        :schema: ExternalSecretSpecSyncWindowsWindows#schedule
        '''
        result = self._values.get("schedule")
        assert result is not None, "Required property 'schedule' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecSyncWindowsWindows(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTarget",
    jsii_struct_bases=[],
    name_mapping={
        "creation_policy": "creationPolicy",
        "deletion_policy": "deletionPolicy",
        "immutable": "immutable",
        "manifest": "manifest",
        "name": "name",
        "template": "template",
    },
)
class ExternalSecretSpecTarget:
    def __init__(
        self,
        *,
        creation_policy: typing.Optional["ExternalSecretSpecTargetCreationPolicy"] = None,
        deletion_policy: typing.Optional["ExternalSecretSpecTargetDeletionPolicy"] = None,
        immutable: typing.Optional[builtins.bool] = None,
        manifest: typing.Optional[typing.Union["ExternalSecretSpecTargetManifest", typing.Dict[builtins.str, typing.Any]]] = None,
        name: typing.Optional[builtins.str] = None,
        template: typing.Optional[typing.Union["ExternalSecretSpecTargetTemplate", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretTarget defines the Kubernetes Secret to be created, there can be only one target per ExternalSecret.

        :param creation_policy: CreationPolicy defines rules on how to create the resulting Secret. Defaults to "Owner" Default: Owner"
        :param deletion_policy: DeletionPolicy defines rules on how to delete the resulting Secret. Defaults to "Retain" Default: Retain"
        :param immutable: Immutable defines if the final secret will be immutable.
        :param manifest: Manifest defines a custom Kubernetes resource to create instead of a Secret. When specified, ExternalSecret will create the resource type defined here (e.g., ConfigMap, Custom Resource) instead of a Secret. Warning: Using Generic target. Make sure access policies and encryption are properly configured.
        :param name: The name of the Secret resource to be managed. Defaults to the .metadata.name of the ExternalSecret resource Default: the .metadata.name of the ExternalSecret resource
        :param template: Template defines a blueprint for the created Secret resource.

        :schema: ExternalSecretSpecTarget
        '''
        if isinstance(manifest, dict):
            manifest = ExternalSecretSpecTargetManifest(**manifest)
        if isinstance(template, dict):
            template = ExternalSecretSpecTargetTemplate(**template)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__827bc50a1daa2c072beabe447d39f5aa425b2533370b434284005378aa9a35c4)
            check_type(argname="argument creation_policy", value=creation_policy, expected_type=type_hints["creation_policy"])
            check_type(argname="argument deletion_policy", value=deletion_policy, expected_type=type_hints["deletion_policy"])
            check_type(argname="argument immutable", value=immutable, expected_type=type_hints["immutable"])
            check_type(argname="argument manifest", value=manifest, expected_type=type_hints["manifest"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument template", value=template, expected_type=type_hints["template"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if creation_policy is not None:
            self._values["creation_policy"] = creation_policy
        if deletion_policy is not None:
            self._values["deletion_policy"] = deletion_policy
        if immutable is not None:
            self._values["immutable"] = immutable
        if manifest is not None:
            self._values["manifest"] = manifest
        if name is not None:
            self._values["name"] = name
        if template is not None:
            self._values["template"] = template

    @builtins.property
    def creation_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetCreationPolicy"]:
        '''CreationPolicy defines rules on how to create the resulting Secret.

        Defaults to "Owner"

        :default: Owner"

        :schema: ExternalSecretSpecTarget#creationPolicy
        '''
        result = self._values.get("creation_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetCreationPolicy"], result)

    @builtins.property
    def deletion_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetDeletionPolicy"]:
        '''DeletionPolicy defines rules on how to delete the resulting Secret.

        Defaults to "Retain"

        :default: Retain"

        :schema: ExternalSecretSpecTarget#deletionPolicy
        '''
        result = self._values.get("deletion_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetDeletionPolicy"], result)

    @builtins.property
    def immutable(self) -> typing.Optional[builtins.bool]:
        '''Immutable defines if the final secret will be immutable.

        :schema: ExternalSecretSpecTarget#immutable
        '''
        result = self._values.get("immutable")
        return typing.cast(typing.Optional[builtins.bool], result)

    @builtins.property
    def manifest(self) -> typing.Optional["ExternalSecretSpecTargetManifest"]:
        '''Manifest defines a custom Kubernetes resource to create instead of a Secret.

        When specified, ExternalSecret will create the resource type defined here
        (e.g., ConfigMap, Custom Resource) instead of a Secret.
        Warning: Using Generic target. Make sure access policies and encryption are properly configured.

        :schema: ExternalSecretSpecTarget#manifest
        '''
        result = self._values.get("manifest")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetManifest"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource to be managed.

        Defaults to the .metadata.name of the ExternalSecret resource

        :default: the .metadata.name of the ExternalSecret resource

        :schema: ExternalSecretSpecTarget#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def template(self) -> typing.Optional["ExternalSecretSpecTargetTemplate"]:
        '''Template defines a blueprint for the created Secret resource.

        :schema: ExternalSecretSpecTarget#template
        '''
        result = self._values.get("template")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplate"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTarget(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecTargetCreationPolicy")
class ExternalSecretSpecTargetCreationPolicy(enum.Enum):
    '''CreationPolicy defines rules on how to create the resulting Secret.

    Defaults to "Owner"

    :default: Owner"

    :schema: ExternalSecretSpecTargetCreationPolicy
    '''

    OWNER = "OWNER"
    '''Owner.'''
    ORPHAN = "ORPHAN"
    '''Orphan.'''
    MERGE = "MERGE"
    '''Merge.'''
    NONE = "NONE"
    '''None.'''
    CREATE_OR_MERGE = "CREATE_OR_MERGE"
    '''CreateOrMerge.'''


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecTargetDeletionPolicy")
class ExternalSecretSpecTargetDeletionPolicy(enum.Enum):
    '''DeletionPolicy defines rules on how to delete the resulting Secret.

    Defaults to "Retain"

    :default: Retain"

    :schema: ExternalSecretSpecTargetDeletionPolicy
    '''

    DELETE = "DELETE"
    '''Delete.'''
    MERGE = "MERGE"
    '''Merge.'''
    RETAIN = "RETAIN"
    '''Retain.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetManifest",
    jsii_struct_bases=[],
    name_mapping={"api_version": "apiVersion", "kind": "kind"},
)
class ExternalSecretSpecTargetManifest:
    def __init__(self, *, api_version: builtins.str, kind: builtins.str) -> None:
        '''Manifest defines a custom Kubernetes resource to create instead of a Secret.

        When specified, ExternalSecret will create the resource type defined here
        (e.g., ConfigMap, Custom Resource) instead of a Secret.
        Warning: Using Generic target. Make sure access policies and encryption are properly configured.

        :param api_version: APIVersion of the target resource (e.g., "v1" for ConfigMap, "argoproj.io/v1alpha1" for ArgoCD Application).
        :param kind: Kind of the target resource (e.g., "ConfigMap", "Application").

        :schema: ExternalSecretSpecTargetManifest
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__1f1537c634fadc74d0ebff0dadab1c87af05e2ac7c9474483010bc3e9016fb08)
            check_type(argname="argument api_version", value=api_version, expected_type=type_hints["api_version"])
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "api_version": api_version,
            "kind": kind,
        }

    @builtins.property
    def api_version(self) -> builtins.str:
        '''APIVersion of the target resource (e.g., "v1" for ConfigMap, "argoproj.io/v1alpha1" for ArgoCD Application).

        :schema: ExternalSecretSpecTargetManifest#apiVersion
        '''
        result = self._values.get("api_version")
        assert result is not None, "Required property 'api_version' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def kind(self) -> builtins.str:
        '''Kind of the target resource (e.g., "ConfigMap", "Application").

        :schema: ExternalSecretSpecTargetManifest#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetManifest(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplate",
    jsii_struct_bases=[],
    name_mapping={
        "data": "data",
        "engine_version": "engineVersion",
        "merge_policy": "mergePolicy",
        "metadata": "metadata",
        "template_from": "templateFrom",
        "type": "type",
    },
)
class ExternalSecretSpecTargetTemplate:
    def __init__(
        self,
        *,
        data: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
        engine_version: typing.Optional["ExternalSecretSpecTargetTemplateEngineVersion"] = None,
        merge_policy: typing.Optional["ExternalSecretSpecTargetTemplateMergePolicy"] = None,
        metadata: typing.Optional[typing.Union["ExternalSecretSpecTargetTemplateMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        template_from: typing.Optional[typing.Sequence[typing.Union["ExternalSecretSpecTargetTemplateTemplateFrom", typing.Dict[builtins.str, typing.Any]]]] = None,
        type: typing.Optional[builtins.str] = None,
    ) -> None:
        '''Template defines a blueprint for the created Secret resource.

        :param data: 
        :param engine_version: EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].
        :param merge_policy: TemplateMergePolicy defines how the rendered template should be merged with the existing Secret data.
        :param metadata: ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.
        :param template_from: 
        :param type: 

        :schema: ExternalSecretSpecTargetTemplate
        '''
        if isinstance(metadata, dict):
            metadata = ExternalSecretSpecTargetTemplateMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__8a97a9d748a88e76340582885a47a889666e169b36bf601e948fa8fbaf8eacb8)
            check_type(argname="argument data", value=data, expected_type=type_hints["data"])
            check_type(argname="argument engine_version", value=engine_version, expected_type=type_hints["engine_version"])
            check_type(argname="argument merge_policy", value=merge_policy, expected_type=type_hints["merge_policy"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
            check_type(argname="argument template_from", value=template_from, expected_type=type_hints["template_from"])
            check_type(argname="argument type", value=type, expected_type=type_hints["type"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if data is not None:
            self._values["data"] = data
        if engine_version is not None:
            self._values["engine_version"] = engine_version
        if merge_policy is not None:
            self._values["merge_policy"] = merge_policy
        if metadata is not None:
            self._values["metadata"] = metadata
        if template_from is not None:
            self._values["template_from"] = template_from
        if type is not None:
            self._values["type"] = type

    @builtins.property
    def data(self) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''
        :schema: ExternalSecretSpecTargetTemplate#data
        '''
        result = self._values.get("data")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    @builtins.property
    def engine_version(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateEngineVersion"]:
        '''EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].

        :schema: ExternalSecretSpecTargetTemplate#engineVersion
        '''
        result = self._values.get("engine_version")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateEngineVersion"], result)

    @builtins.property
    def merge_policy(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateMergePolicy"]:
        '''TemplateMergePolicy defines how the rendered template should be merged with the existing Secret data.

        :schema: ExternalSecretSpecTargetTemplate#mergePolicy
        '''
        result = self._values.get("merge_policy")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateMergePolicy"], result)

    @builtins.property
    def metadata(self) -> typing.Optional["ExternalSecretSpecTargetTemplateMetadata"]:
        '''ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.

        :schema: ExternalSecretSpecTargetTemplate#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateMetadata"], result)

    @builtins.property
    def template_from(
        self,
    ) -> typing.Optional[typing.List["ExternalSecretSpecTargetTemplateTemplateFrom"]]:
        '''
        :schema: ExternalSecretSpecTargetTemplate#templateFrom
        '''
        result = self._values.get("template_from")
        return typing.cast(typing.Optional[typing.List["ExternalSecretSpecTargetTemplateTemplateFrom"]], result)

    @builtins.property
    def type(self) -> typing.Optional[builtins.str]:
        '''
        :schema: ExternalSecretSpecTargetTemplate#type
        '''
        result = self._values.get("type")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplate(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateEngineVersion"
)
class ExternalSecretSpecTargetTemplateEngineVersion(enum.Enum):
    '''EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].

    :schema: ExternalSecretSpecTargetTemplateEngineVersion
    '''

    V2 = "V2"
    '''v2.'''


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateMergePolicy")
class ExternalSecretSpecTargetTemplateMergePolicy(enum.Enum):
    '''TemplateMergePolicy defines how the rendered template should be merged with the existing Secret data.

    :schema: ExternalSecretSpecTargetTemplateMergePolicy
    '''

    REPLACE = "REPLACE"
    '''Replace.'''
    MERGE = "MERGE"
    '''Merge.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateMetadata",
    jsii_struct_bases=[],
    name_mapping={
        "annotations": "annotations",
        "finalizers": "finalizers",
        "labels": "labels",
    },
)
class ExternalSecretSpecTargetTemplateMetadata:
    def __init__(
        self,
        *,
        annotations: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
        finalizers: typing.Optional[typing.Sequence[builtins.str]] = None,
        labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    ) -> None:
        '''ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.

        :param annotations: 
        :param finalizers: 
        :param labels: 

        :schema: ExternalSecretSpecTargetTemplateMetadata
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__fd5588a79e0c2ae668496ad557535214d7832b67410c55764b5ebcb0df34aa6e)
            check_type(argname="argument annotations", value=annotations, expected_type=type_hints["annotations"])
            check_type(argname="argument finalizers", value=finalizers, expected_type=type_hints["finalizers"])
            check_type(argname="argument labels", value=labels, expected_type=type_hints["labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if annotations is not None:
            self._values["annotations"] = annotations
        if finalizers is not None:
            self._values["finalizers"] = finalizers
        if labels is not None:
            self._values["labels"] = labels

    @builtins.property
    def annotations(
        self,
    ) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''
        :schema: ExternalSecretSpecTargetTemplateMetadata#annotations
        '''
        result = self._values.get("annotations")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    @builtins.property
    def finalizers(self) -> typing.Optional[typing.List[builtins.str]]:
        '''
        :schema: ExternalSecretSpecTargetTemplateMetadata#finalizers
        '''
        result = self._values.get("finalizers")
        return typing.cast(typing.Optional[typing.List[builtins.str]], result)

    @builtins.property
    def labels(self) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''
        :schema: ExternalSecretSpecTargetTemplateMetadata#labels
        '''
        result = self._values.get("labels")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplateMetadata(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFrom",
    jsii_struct_bases=[],
    name_mapping={
        "config_map": "configMap",
        "literal": "literal",
        "secret": "secret",
        "target": "target",
        "values_decoding_strategy": "valuesDecodingStrategy",
    },
)
class ExternalSecretSpecTargetTemplateTemplateFrom:
    def __init__(
        self,
        *,
        config_map: typing.Optional[typing.Union["ExternalSecretSpecTargetTemplateTemplateFromConfigMap", typing.Dict[builtins.str, typing.Any]]] = None,
        literal: typing.Optional[builtins.str] = None,
        secret: typing.Optional[typing.Union["ExternalSecretSpecTargetTemplateTemplateFromSecret", typing.Dict[builtins.str, typing.Any]]] = None,
        target: typing.Optional[builtins.str] = None,
        values_decoding_strategy: typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy"] = None,
    ) -> None:
        '''TemplateFrom specifies a source for templates.

        Each item in the list can either reference a ConfigMap or a Secret resource.

        :param config_map: TemplateRef specifies a reference to either a ConfigMap or a Secret resource.
        :param literal: 
        :param secret: TemplateRef specifies a reference to either a ConfigMap or a Secret resource.
        :param target: Target specifies where to place the template result. For Secret resources the accepted values are empty, "Data", "Annotations" and "Labels"; any other value is rejected because it would allow writes to privileged Secret fields. For custom resources (when spec.target.manifest is set), this supports nested paths like "spec.database.config" or "data".
        :param values_decoding_strategy: Used to define a decoding Strategy for the rendered template values. Defaults to None when omitted. Default: None when omitted.

        :schema: ExternalSecretSpecTargetTemplateTemplateFrom
        '''
        if isinstance(config_map, dict):
            config_map = ExternalSecretSpecTargetTemplateTemplateFromConfigMap(**config_map)
        if isinstance(secret, dict):
            secret = ExternalSecretSpecTargetTemplateTemplateFromSecret(**secret)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__31faa86a5c98b99d6ee0e61c7febcb6d057f4f2d66a77088ff59e58fd22c0e21)
            check_type(argname="argument config_map", value=config_map, expected_type=type_hints["config_map"])
            check_type(argname="argument literal", value=literal, expected_type=type_hints["literal"])
            check_type(argname="argument secret", value=secret, expected_type=type_hints["secret"])
            check_type(argname="argument target", value=target, expected_type=type_hints["target"])
            check_type(argname="argument values_decoding_strategy", value=values_decoding_strategy, expected_type=type_hints["values_decoding_strategy"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if config_map is not None:
            self._values["config_map"] = config_map
        if literal is not None:
            self._values["literal"] = literal
        if secret is not None:
            self._values["secret"] = secret
        if target is not None:
            self._values["target"] = target
        if values_decoding_strategy is not None:
            self._values["values_decoding_strategy"] = values_decoding_strategy

    @builtins.property
    def config_map(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromConfigMap"]:
        '''TemplateRef specifies a reference to either a ConfigMap or a Secret resource.

        :schema: ExternalSecretSpecTargetTemplateTemplateFrom#configMap
        '''
        result = self._values.get("config_map")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromConfigMap"], result)

    @builtins.property
    def literal(self) -> typing.Optional[builtins.str]:
        '''
        :schema: ExternalSecretSpecTargetTemplateTemplateFrom#literal
        '''
        result = self._values.get("literal")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def secret(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromSecret"]:
        '''TemplateRef specifies a reference to either a ConfigMap or a Secret resource.

        :schema: ExternalSecretSpecTargetTemplateTemplateFrom#secret
        '''
        result = self._values.get("secret")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromSecret"], result)

    @builtins.property
    def target(self) -> typing.Optional[builtins.str]:
        '''Target specifies where to place the template result.

        For Secret resources the accepted values are empty, "Data", "Annotations" and "Labels";
        any other value is rejected because it would allow writes to privileged Secret fields.
        For custom resources (when spec.target.manifest is set), this supports
        nested paths like "spec.database.config" or "data".

        :schema: ExternalSecretSpecTargetTemplateTemplateFrom#target
        '''
        result = self._values.get("target")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def values_decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy"]:
        '''Used to define a decoding Strategy for the rendered template values.

        Defaults to None when omitted.

        :default: None when omitted.

        :schema: ExternalSecretSpecTargetTemplateTemplateFrom#valuesDecodingStrategy
        '''
        result = self._values.get("values_decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplateTemplateFrom(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromConfigMap",
    jsii_struct_bases=[],
    name_mapping={"items": "items", "name": "name"},
)
class ExternalSecretSpecTargetTemplateTemplateFromConfigMap:
    def __init__(
        self,
        *,
        items: typing.Sequence[typing.Union["ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems", typing.Dict[builtins.str, typing.Any]]],
        name: builtins.str,
    ) -> None:
        '''TemplateRef specifies a reference to either a ConfigMap or a Secret resource.

        :param items: A list of keys in the ConfigMap/Secret to use as templates for Secret data.
        :param name: The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMap
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__02bb153304316c1d27d8cc2666b4bffdf0b5ee46f914eb90f501ff4d279aff79)
            check_type(argname="argument items", value=items, expected_type=type_hints["items"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "items": items,
            "name": name,
        }

    @builtins.property
    def items(
        self,
    ) -> typing.List["ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems"]:
        '''A list of keys in the ConfigMap/Secret to use as templates for Secret data.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMap#items
        '''
        result = self._values.get("items")
        assert result is not None, "Required property 'items' is missing"
        return typing.cast(typing.List["ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems"], result)

    @builtins.property
    def name(self) -> builtins.str:
        '''The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMap#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplateTemplateFromConfigMap(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "template_as": "templateAs"},
)
class ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems:
    def __init__(
        self,
        *,
        key: builtins.str,
        template_as: typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"] = None,
    ) -> None:
        '''TemplateRefItem specifies a key in the ConfigMap/Secret to use as a template for Secret data.

        :param key: A key in the ConfigMap/Secret.
        :param template_as: TemplateScope specifies how the template keys should be interpreted.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__183828d27464f0cb7be30c7fcfa871d537b68ad5d70c9895876220619c3ee123)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument template_as", value=template_as, expected_type=type_hints["template_as"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if template_as is not None:
            self._values["template_as"] = template_as

    @builtins.property
    def key(self) -> builtins.str:
        '''A key in the ConfigMap/Secret.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def template_as(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"]:
        '''TemplateScope specifies how the template keys should be interpreted.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems#templateAs
        '''
        result = self._values.get("template_as")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"
)
class ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs(enum.Enum):
    '''TemplateScope specifies how the template keys should be interpreted.

    :schema: ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs
    '''

    VALUES = "VALUES"
    '''Values.'''
    KEYS_AND_VALUES = "KEYS_AND_VALUES"
    '''KeysAndValues.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromSecret",
    jsii_struct_bases=[],
    name_mapping={"items": "items", "name": "name"},
)
class ExternalSecretSpecTargetTemplateTemplateFromSecret:
    def __init__(
        self,
        *,
        items: typing.Sequence[typing.Union["ExternalSecretSpecTargetTemplateTemplateFromSecretItems", typing.Dict[builtins.str, typing.Any]]],
        name: builtins.str,
    ) -> None:
        '''TemplateRef specifies a reference to either a ConfigMap or a Secret resource.

        :param items: A list of keys in the ConfigMap/Secret to use as templates for Secret data.
        :param name: The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromSecret
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__a0091308b64027190e4220f919c8b9fe8606081a83a7cac89b8d6f66850f27d9)
            check_type(argname="argument items", value=items, expected_type=type_hints["items"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "items": items,
            "name": name,
        }

    @builtins.property
    def items(
        self,
    ) -> typing.List["ExternalSecretSpecTargetTemplateTemplateFromSecretItems"]:
        '''A list of keys in the ConfigMap/Secret to use as templates for Secret data.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromSecret#items
        '''
        result = self._values.get("items")
        assert result is not None, "Required property 'items' is missing"
        return typing.cast(typing.List["ExternalSecretSpecTargetTemplateTemplateFromSecretItems"], result)

    @builtins.property
    def name(self) -> builtins.str:
        '''The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromSecret#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplateTemplateFromSecret(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromSecretItems",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "template_as": "templateAs"},
)
class ExternalSecretSpecTargetTemplateTemplateFromSecretItems:
    def __init__(
        self,
        *,
        key: builtins.str,
        template_as: typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs"] = None,
    ) -> None:
        '''TemplateRefItem specifies a key in the ConfigMap/Secret to use as a template for Secret data.

        :param key: A key in the ConfigMap/Secret.
        :param template_as: TemplateScope specifies how the template keys should be interpreted.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromSecretItems
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__dd62afc90b918a7a93df148a8f114e0416daaaa6276fbdd86d8d0b7a8b3a5886)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument template_as", value=template_as, expected_type=type_hints["template_as"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if template_as is not None:
            self._values["template_as"] = template_as

    @builtins.property
    def key(self) -> builtins.str:
        '''A key in the ConfigMap/Secret.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromSecretItems#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def template_as(
        self,
    ) -> typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs"]:
        '''TemplateScope specifies how the template keys should be interpreted.

        :schema: ExternalSecretSpecTargetTemplateTemplateFromSecretItems#templateAs
        '''
        result = self._values.get("template_as")
        return typing.cast(typing.Optional["ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretSpecTargetTemplateTemplateFromSecretItems(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs"
)
class ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs(enum.Enum):
    '''TemplateScope specifies how the template keys should be interpreted.

    :schema: ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs
    '''

    VALUES = "VALUES"
    '''Values.'''
    KEYS_AND_VALUES = "KEYS_AND_VALUES"
    '''KeysAndValues.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy"
)
class ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy for the rendered template values.

    Defaults to None when omitted.

    :default: None when omitted.

    :schema: ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


class ExternalSecretV1Beta1(
    _cdk8s_d3d9af27.ApiObject,
    metaclass=jsii.JSIIMeta,
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1",
):
    '''ExternalSecret is the schema for the external-secrets API.

    :schema: ExternalSecretV1Beta1
    '''

    def __init__(
        self,
        scope: "_constructs_77d1e7e8.Construct",
        id: builtins.str,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ExternalSecretV1Beta1Spec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''Defines a "ExternalSecretV1Beta1" API object.

        :param scope: the scope in which to define this object.
        :param id: a scope-local name for the object.
        :param metadata: 
        :param spec: ExternalSecretSpec defines the desired state of ExternalSecret.
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__cfd09e377328d190f8f7b77670ab85f29c4518dcbb58d06f05a9a27a25809189)
            check_type(argname="argument scope", value=scope, expected_type=type_hints["scope"])
            check_type(argname="argument id", value=id, expected_type=type_hints["id"])
        props = ExternalSecretV1Beta1Props(metadata=metadata, spec=spec)

        jsii.create(self.__class__, self, [scope, id, props])

    @jsii.member(jsii_name="manifest")
    @builtins.classmethod
    def manifest(
        cls,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ExternalSecretV1Beta1Spec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> typing.Any:
        '''Renders a Kubernetes manifest for "ExternalSecretV1Beta1".

        This can be used to inline resource manifests inside other objects (e.g. as templates).

        :param metadata: 
        :param spec: ExternalSecretSpec defines the desired state of ExternalSecret.
        '''
        props = ExternalSecretV1Beta1Props(metadata=metadata, spec=spec)

        return typing.cast(typing.Any, jsii.sinvoke(cls, "manifest", [props]))

    @jsii.member(jsii_name="toJson")
    def to_json(self) -> typing.Any:
        '''Renders the object to Kubernetes JSON.'''
        return typing.cast(typing.Any, jsii.invoke(self, "toJson", []))

    @jsii.python.classproperty
    @jsii.member(jsii_name="GVK")
    def GVK(cls) -> "_cdk8s_d3d9af27.GroupVersionKind":
        '''Returns the apiVersion and kind for "ExternalSecretV1Beta1".'''
        return typing.cast("_cdk8s_d3d9af27.GroupVersionKind", jsii.sget(cls, "GVK"))


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1Props",
    jsii_struct_bases=[],
    name_mapping={"metadata": "metadata", "spec": "spec"},
)
class ExternalSecretV1Beta1Props:
    def __init__(
        self,
        *,
        metadata: typing.Optional[typing.Union["_cdk8s_d3d9af27.ApiObjectMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        spec: typing.Optional[typing.Union["ExternalSecretV1Beta1Spec", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecret is the schema for the external-secrets API.

        :param metadata: 
        :param spec: ExternalSecretSpec defines the desired state of ExternalSecret.

        :schema: ExternalSecretV1Beta1
        '''
        if isinstance(metadata, dict):
            metadata = _cdk8s_d3d9af27.ApiObjectMetadata(**metadata)
        if isinstance(spec, dict):
            spec = ExternalSecretV1Beta1Spec(**spec)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__461761ed0edddc73d403b793c8ed04d0bc0a2534dd95e8eae4158f95cf880b21)
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
            check_type(argname="argument spec", value=spec, expected_type=type_hints["spec"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if metadata is not None:
            self._values["metadata"] = metadata
        if spec is not None:
            self._values["spec"] = spec

    @builtins.property
    def metadata(self) -> typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"]:
        '''
        :schema: ExternalSecretV1Beta1#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["_cdk8s_d3d9af27.ApiObjectMetadata"], result)

    @builtins.property
    def spec(self) -> typing.Optional["ExternalSecretV1Beta1Spec"]:
        '''ExternalSecretSpec defines the desired state of ExternalSecret.

        :schema: ExternalSecretV1Beta1#spec
        '''
        result = self._values.get("spec")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1Spec"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1Props(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1Spec",
    jsii_struct_bases=[],
    name_mapping={
        "data": "data",
        "data_from": "dataFrom",
        "refresh_interval": "refreshInterval",
        "refresh_policy": "refreshPolicy",
        "secret_store_ref": "secretStoreRef",
        "target": "target",
    },
)
class ExternalSecretV1Beta1Spec:
    def __init__(
        self,
        *,
        data: typing.Optional[typing.Sequence[typing.Union["ExternalSecretV1Beta1SpecData", typing.Dict[builtins.str, typing.Any]]]] = None,
        data_from: typing.Optional[typing.Sequence[typing.Union["ExternalSecretV1Beta1SpecDataFrom", typing.Dict[builtins.str, typing.Any]]]] = None,
        refresh_interval: typing.Optional[builtins.str] = None,
        refresh_policy: typing.Optional["ExternalSecretV1Beta1SpecRefreshPolicy"] = None,
        secret_store_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecSecretStoreRef", typing.Dict[builtins.str, typing.Any]]] = None,
        target: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecTarget", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretSpec defines the desired state of ExternalSecret.

        :param data: Data defines the connection between the Kubernetes Secret keys and the Provider data.
        :param data_from: DataFrom is used to fetch all properties from a specific Provider data If multiple entries are specified, the Secret keys are merged in the specified order.
        :param refresh_interval: RefreshInterval is the amount of time before the values are read again from the SecretStore provider, specified as Golang Duration strings. Valid time units are "ns", "us" (or "µs"), "ms", "s", "m", "h" Example values: "1h0m0s", "2h30m0s", "10m0s" May be set to "0s" to fetch and create it once. Defaults to 1h0m0s. Default: 1h0m0s.
        :param refresh_policy: RefreshPolicy determines how the ExternalSecret should be refreshed: - CreatedOnce: Creates the Secret only if it does not exist and does not update it thereafter - Periodic: Synchronizes the Secret from the external source at regular intervals specified by refreshInterval. No periodic updates occur if refreshInterval is 0. - OnChange: Only synchronizes the Secret when the ExternalSecret's metadata or specification changes
        :param secret_store_ref: SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.
        :param target: ExternalSecretTarget defines the Kubernetes Secret to be created There can be only one target per ExternalSecret.

        :schema: ExternalSecretV1Beta1Spec
        '''
        if isinstance(secret_store_ref, dict):
            secret_store_ref = ExternalSecretV1Beta1SpecSecretStoreRef(**secret_store_ref)
        if isinstance(target, dict):
            target = ExternalSecretV1Beta1SpecTarget(**target)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__93f730c43130f4e637999febc8307761ffd7173d07e0fb0252beb9d33999daae)
            check_type(argname="argument data", value=data, expected_type=type_hints["data"])
            check_type(argname="argument data_from", value=data_from, expected_type=type_hints["data_from"])
            check_type(argname="argument refresh_interval", value=refresh_interval, expected_type=type_hints["refresh_interval"])
            check_type(argname="argument refresh_policy", value=refresh_policy, expected_type=type_hints["refresh_policy"])
            check_type(argname="argument secret_store_ref", value=secret_store_ref, expected_type=type_hints["secret_store_ref"])
            check_type(argname="argument target", value=target, expected_type=type_hints["target"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if data is not None:
            self._values["data"] = data
        if data_from is not None:
            self._values["data_from"] = data_from
        if refresh_interval is not None:
            self._values["refresh_interval"] = refresh_interval
        if refresh_policy is not None:
            self._values["refresh_policy"] = refresh_policy
        if secret_store_ref is not None:
            self._values["secret_store_ref"] = secret_store_ref
        if target is not None:
            self._values["target"] = target

    @builtins.property
    def data(self) -> typing.Optional[typing.List["ExternalSecretV1Beta1SpecData"]]:
        '''Data defines the connection between the Kubernetes Secret keys and the Provider data.

        :schema: ExternalSecretV1Beta1Spec#data
        '''
        result = self._values.get("data")
        return typing.cast(typing.Optional[typing.List["ExternalSecretV1Beta1SpecData"]], result)

    @builtins.property
    def data_from(
        self,
    ) -> typing.Optional[typing.List["ExternalSecretV1Beta1SpecDataFrom"]]:
        '''DataFrom is used to fetch all properties from a specific Provider data If multiple entries are specified, the Secret keys are merged in the specified order.

        :schema: ExternalSecretV1Beta1Spec#dataFrom
        '''
        result = self._values.get("data_from")
        return typing.cast(typing.Optional[typing.List["ExternalSecretV1Beta1SpecDataFrom"]], result)

    @builtins.property
    def refresh_interval(self) -> typing.Optional[builtins.str]:
        '''RefreshInterval is the amount of time before the values are read again from the SecretStore provider, specified as Golang Duration strings.

        Valid time units are "ns", "us" (or "µs"), "ms", "s", "m", "h"
        Example values: "1h0m0s", "2h30m0s", "10m0s"
        May be set to "0s" to fetch and create it once. Defaults to 1h0m0s.

        :default: 1h0m0s.

        :schema: ExternalSecretV1Beta1Spec#refreshInterval
        '''
        result = self._values.get("refresh_interval")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def refresh_policy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecRefreshPolicy"]:
        '''RefreshPolicy determines how the ExternalSecret should be refreshed: - CreatedOnce: Creates the Secret only if it does not exist and does not update it thereafter - Periodic: Synchronizes the Secret from the external source at regular intervals specified by refreshInterval.

        No periodic updates occur if refreshInterval is 0.

        - OnChange: Only synchronizes the Secret when the ExternalSecret's metadata or specification changes

        :schema: ExternalSecretV1Beta1Spec#refreshPolicy
        '''
        result = self._values.get("refresh_policy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecRefreshPolicy"], result)

    @builtins.property
    def secret_store_ref(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecSecretStoreRef"]:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretV1Beta1Spec#secretStoreRef
        '''
        result = self._values.get("secret_store_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecSecretStoreRef"], result)

    @builtins.property
    def target(self) -> typing.Optional["ExternalSecretV1Beta1SpecTarget"]:
        '''ExternalSecretTarget defines the Kubernetes Secret to be created There can be only one target per ExternalSecret.

        :schema: ExternalSecretV1Beta1Spec#target
        '''
        result = self._values.get("target")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTarget"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1Spec(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecData",
    jsii_struct_bases=[],
    name_mapping={
        "remote_ref": "remoteRef",
        "secret_key": "secretKey",
        "source_ref": "sourceRef",
    },
)
class ExternalSecretV1Beta1SpecData:
    def __init__(
        self,
        *,
        remote_ref: typing.Union["ExternalSecretV1Beta1SpecDataRemoteRef", typing.Dict[builtins.str, typing.Any]],
        secret_key: builtins.str,
        source_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataSourceRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretData defines the connection between the Kubernetes Secret key (spec.data.) and the Provider data.

        :param remote_ref: RemoteRef points to the remote secret and defines which secret (version/property/..) to fetch.
        :param secret_key: The key in the Kubernetes Secret to store the value.
        :param source_ref: SourceRef allows you to override the source from which the value will be pulled.

        :schema: ExternalSecretV1Beta1SpecData
        '''
        if isinstance(remote_ref, dict):
            remote_ref = ExternalSecretV1Beta1SpecDataRemoteRef(**remote_ref)
        if isinstance(source_ref, dict):
            source_ref = ExternalSecretV1Beta1SpecDataSourceRef(**source_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__57cac15896a1d924720292c54c0d0f922c9daf2aa81f875475449aef38e0e295)
            check_type(argname="argument remote_ref", value=remote_ref, expected_type=type_hints["remote_ref"])
            check_type(argname="argument secret_key", value=secret_key, expected_type=type_hints["secret_key"])
            check_type(argname="argument source_ref", value=source_ref, expected_type=type_hints["source_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "remote_ref": remote_ref,
            "secret_key": secret_key,
        }
        if source_ref is not None:
            self._values["source_ref"] = source_ref

    @builtins.property
    def remote_ref(self) -> "ExternalSecretV1Beta1SpecDataRemoteRef":
        '''RemoteRef points to the remote secret and defines which secret (version/property/..) to fetch.

        :schema: ExternalSecretV1Beta1SpecData#remoteRef
        '''
        result = self._values.get("remote_ref")
        assert result is not None, "Required property 'remote_ref' is missing"
        return typing.cast("ExternalSecretV1Beta1SpecDataRemoteRef", result)

    @builtins.property
    def secret_key(self) -> builtins.str:
        '''The key in the Kubernetes Secret to store the value.

        :schema: ExternalSecretV1Beta1SpecData#secretKey
        '''
        result = self._values.get("secret_key")
        assert result is not None, "Required property 'secret_key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def source_ref(self) -> typing.Optional["ExternalSecretV1Beta1SpecDataSourceRef"]:
        '''SourceRef allows you to override the source from which the value will be pulled.

        :schema: ExternalSecretV1Beta1SpecData#sourceRef
        '''
        result = self._values.get("source_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataSourceRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecData(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFrom",
    jsii_struct_bases=[],
    name_mapping={
        "extract": "extract",
        "find": "find",
        "rewrite": "rewrite",
        "source_ref": "sourceRef",
    },
)
class ExternalSecretV1Beta1SpecDataFrom:
    def __init__(
        self,
        *,
        extract: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromExtract", typing.Dict[builtins.str, typing.Any]]] = None,
        find: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromFind", typing.Dict[builtins.str, typing.Any]]] = None,
        rewrite: typing.Optional[typing.Sequence[typing.Union["ExternalSecretV1Beta1SpecDataFromRewrite", typing.Dict[builtins.str, typing.Any]]]] = None,
        source_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromSourceRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretDataFromRemoteRef defines a reference to multiple secrets in the provider to be fetched using options.

        :param extract: Used to extract multiple key/value pairs from one secret Note: Extract does not support sourceRef.Generator or sourceRef.GeneratorRef.
        :param find: Used to find secrets based on tags or regular expressions Note: Find does not support sourceRef.Generator or sourceRef.GeneratorRef.
        :param rewrite: Used to rewrite secret Keys after getting them from the secret Provider Multiple Rewrite operations can be provided. They are applied in a layered order (first to last)
        :param source_ref: SourceRef points to a store or generator which contains secret values ready to use. Use this in combination with Extract or Find pull values out of a specific SecretStore. When sourceRef points to a generator Extract or Find is not supported. The generator returns a static map of values

        :schema: ExternalSecretV1Beta1SpecDataFrom
        '''
        if isinstance(extract, dict):
            extract = ExternalSecretV1Beta1SpecDataFromExtract(**extract)
        if isinstance(find, dict):
            find = ExternalSecretV1Beta1SpecDataFromFind(**find)
        if isinstance(source_ref, dict):
            source_ref = ExternalSecretV1Beta1SpecDataFromSourceRef(**source_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7a22f4fe792b72c3eaf030666d89e08718509ca8d74cccad99560062b6eeb559)
            check_type(argname="argument extract", value=extract, expected_type=type_hints["extract"])
            check_type(argname="argument find", value=find, expected_type=type_hints["find"])
            check_type(argname="argument rewrite", value=rewrite, expected_type=type_hints["rewrite"])
            check_type(argname="argument source_ref", value=source_ref, expected_type=type_hints["source_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if extract is not None:
            self._values["extract"] = extract
        if find is not None:
            self._values["find"] = find
        if rewrite is not None:
            self._values["rewrite"] = rewrite
        if source_ref is not None:
            self._values["source_ref"] = source_ref

    @builtins.property
    def extract(self) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromExtract"]:
        '''Used to extract multiple key/value pairs from one secret Note: Extract does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :schema: ExternalSecretV1Beta1SpecDataFrom#extract
        '''
        result = self._values.get("extract")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromExtract"], result)

    @builtins.property
    def find(self) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromFind"]:
        '''Used to find secrets based on tags or regular expressions Note: Find does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :schema: ExternalSecretV1Beta1SpecDataFrom#find
        '''
        result = self._values.get("find")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromFind"], result)

    @builtins.property
    def rewrite(
        self,
    ) -> typing.Optional[typing.List["ExternalSecretV1Beta1SpecDataFromRewrite"]]:
        '''Used to rewrite secret Keys after getting them from the secret Provider Multiple Rewrite operations can be provided.

        They are applied in a layered order (first to last)

        :schema: ExternalSecretV1Beta1SpecDataFrom#rewrite
        '''
        result = self._values.get("rewrite")
        return typing.cast(typing.Optional[typing.List["ExternalSecretV1Beta1SpecDataFromRewrite"]], result)

    @builtins.property
    def source_ref(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRef"]:
        '''SourceRef points to a store or generator which contains secret values ready to use.

        Use this in combination with Extract or Find pull values out of
        a specific SecretStore.
        When sourceRef points to a generator Extract or Find is not supported.
        The generator returns a static map of values

        :schema: ExternalSecretV1Beta1SpecDataFrom#sourceRef
        '''
        result = self._values.get("source_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFrom(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromExtract",
    jsii_struct_bases=[],
    name_mapping={
        "key": "key",
        "conversion_strategy": "conversionStrategy",
        "decoding_strategy": "decodingStrategy",
        "metadata_policy": "metadataPolicy",
        "property": "property",
        "version": "version",
    },
)
class ExternalSecretV1Beta1SpecDataFromExtract:
    def __init__(
        self,
        *,
        key: builtins.str,
        conversion_strategy: typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy"] = None,
        decoding_strategy: typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy"] = None,
        metadata_policy: typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy"] = None,
        property: typing.Optional[builtins.str] = None,
        version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''Used to extract multiple key/value pairs from one secret Note: Extract does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :param key: Key is the key used in the Provider, mandatory.
        :param conversion_strategy: Used to define a conversion Strategy.
        :param decoding_strategy: Used to define a decoding Strategy.
        :param metadata_policy: Policy for fetching tags/labels from provider secrets, possible options are Fetch, None. Defaults to None Default: None
        :param property: Used to select a specific property of the Provider value (if a map), if supported.
        :param version: Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretV1Beta1SpecDataFromExtract
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__4470abe995b704cbdcdf0492e1e91e23a97f5bd83a22269ccf3af13015136970)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument conversion_strategy", value=conversion_strategy, expected_type=type_hints["conversion_strategy"])
            check_type(argname="argument decoding_strategy", value=decoding_strategy, expected_type=type_hints["decoding_strategy"])
            check_type(argname="argument metadata_policy", value=metadata_policy, expected_type=type_hints["metadata_policy"])
            check_type(argname="argument property", value=property, expected_type=type_hints["property"])
            check_type(argname="argument version", value=version, expected_type=type_hints["version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if conversion_strategy is not None:
            self._values["conversion_strategy"] = conversion_strategy
        if decoding_strategy is not None:
            self._values["decoding_strategy"] = decoding_strategy
        if metadata_policy is not None:
            self._values["metadata_policy"] = metadata_policy
        if property is not None:
            self._values["property"] = property
        if version is not None:
            self._values["version"] = version

    @builtins.property
    def key(self) -> builtins.str:
        '''Key is the key used in the Provider, mandatory.

        :schema: ExternalSecretV1Beta1SpecDataFromExtract#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def conversion_strategy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy"]:
        '''Used to define a conversion Strategy.

        :schema: ExternalSecretV1Beta1SpecDataFromExtract#conversionStrategy
        '''
        result = self._values.get("conversion_strategy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy"], result)

    @builtins.property
    def decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy"]:
        '''Used to define a decoding Strategy.

        :schema: ExternalSecretV1Beta1SpecDataFromExtract#decodingStrategy
        '''
        result = self._values.get("decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy"], result)

    @builtins.property
    def metadata_policy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy"]:
        '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

        Defaults to None

        :default: None

        :schema: ExternalSecretV1Beta1SpecDataFromExtract#metadataPolicy
        '''
        result = self._values.get("metadata_policy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy"], result)

    @builtins.property
    def property(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific property of the Provider value (if a map), if supported.

        :schema: ExternalSecretV1Beta1SpecDataFromExtract#property
        '''
        result = self._values.get("property")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def version(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretV1Beta1SpecDataFromExtract#version
        '''
        result = self._values.get("version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromExtract(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy"
)
class ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy(enum.Enum):
    '''Used to define a conversion Strategy.

    :schema: ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy
    '''

    DEFAULT = "DEFAULT"
    '''Default.'''
    UNICODE = "UNICODE"
    '''Unicode.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy"
)
class ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy.

    :schema: ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy"
)
class ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy(enum.Enum):
    '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

    Defaults to None

    :default: None

    :schema: ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy
    '''

    NONE = "NONE"
    '''None.'''
    FETCH = "FETCH"
    '''Fetch.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromFind",
    jsii_struct_bases=[],
    name_mapping={
        "conversion_strategy": "conversionStrategy",
        "decoding_strategy": "decodingStrategy",
        "name": "name",
        "path": "path",
        "tags": "tags",
    },
)
class ExternalSecretV1Beta1SpecDataFromFind:
    def __init__(
        self,
        *,
        conversion_strategy: typing.Optional["ExternalSecretV1Beta1SpecDataFromFindConversionStrategy"] = None,
        decoding_strategy: typing.Optional["ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy"] = None,
        name: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromFindName", typing.Dict[builtins.str, typing.Any]]] = None,
        path: typing.Optional[builtins.str] = None,
        tags: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    ) -> None:
        '''Used to find secrets based on tags or regular expressions Note: Find does not support sourceRef.Generator or sourceRef.GeneratorRef.

        :param conversion_strategy: Used to define a conversion Strategy.
        :param decoding_strategy: Used to define a decoding Strategy.
        :param name: Finds secrets based on the name.
        :param path: A root path to start the find operations.
        :param tags: Find secrets based on tags.

        :schema: ExternalSecretV1Beta1SpecDataFromFind
        '''
        if isinstance(name, dict):
            name = ExternalSecretV1Beta1SpecDataFromFindName(**name)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__22b4b957dbb9cd8460e4e930700a48d34f638298827b6fe53d68d1b82de6f401)
            check_type(argname="argument conversion_strategy", value=conversion_strategy, expected_type=type_hints["conversion_strategy"])
            check_type(argname="argument decoding_strategy", value=decoding_strategy, expected_type=type_hints["decoding_strategy"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument path", value=path, expected_type=type_hints["path"])
            check_type(argname="argument tags", value=tags, expected_type=type_hints["tags"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if conversion_strategy is not None:
            self._values["conversion_strategy"] = conversion_strategy
        if decoding_strategy is not None:
            self._values["decoding_strategy"] = decoding_strategy
        if name is not None:
            self._values["name"] = name
        if path is not None:
            self._values["path"] = path
        if tags is not None:
            self._values["tags"] = tags

    @builtins.property
    def conversion_strategy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromFindConversionStrategy"]:
        '''Used to define a conversion Strategy.

        :schema: ExternalSecretV1Beta1SpecDataFromFind#conversionStrategy
        '''
        result = self._values.get("conversion_strategy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromFindConversionStrategy"], result)

    @builtins.property
    def decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy"]:
        '''Used to define a decoding Strategy.

        :schema: ExternalSecretV1Beta1SpecDataFromFind#decodingStrategy
        '''
        result = self._values.get("decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy"], result)

    @builtins.property
    def name(self) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromFindName"]:
        '''Finds secrets based on the name.

        :schema: ExternalSecretV1Beta1SpecDataFromFind#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromFindName"], result)

    @builtins.property
    def path(self) -> typing.Optional[builtins.str]:
        '''A root path to start the find operations.

        :schema: ExternalSecretV1Beta1SpecDataFromFind#path
        '''
        result = self._values.get("path")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def tags(self) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''Find secrets based on tags.

        :schema: ExternalSecretV1Beta1SpecDataFromFind#tags
        '''
        result = self._values.get("tags")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromFind(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromFindConversionStrategy"
)
class ExternalSecretV1Beta1SpecDataFromFindConversionStrategy(enum.Enum):
    '''Used to define a conversion Strategy.

    :schema: ExternalSecretV1Beta1SpecDataFromFindConversionStrategy
    '''

    DEFAULT = "DEFAULT"
    '''Default.'''
    UNICODE = "UNICODE"
    '''Unicode.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy"
)
class ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy.

    :schema: ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromFindName",
    jsii_struct_bases=[],
    name_mapping={"regexp": "regexp"},
)
class ExternalSecretV1Beta1SpecDataFromFindName:
    def __init__(self, *, regexp: typing.Optional[builtins.str] = None) -> None:
        '''Finds secrets based on the name.

        :param regexp: Finds secrets base.

        :schema: ExternalSecretV1Beta1SpecDataFromFindName
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__6f615a184713f5d364337da92283293111522fd42282ad325a8afbd2d1962916)
            check_type(argname="argument regexp", value=regexp, expected_type=type_hints["regexp"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if regexp is not None:
            self._values["regexp"] = regexp

    @builtins.property
    def regexp(self) -> typing.Optional[builtins.str]:
        '''Finds secrets base.

        :schema: ExternalSecretV1Beta1SpecDataFromFindName#regexp
        '''
        result = self._values.get("regexp")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromFindName(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromRewrite",
    jsii_struct_bases=[],
    name_mapping={"regexp": "regexp", "transform": "transform"},
)
class ExternalSecretV1Beta1SpecDataFromRewrite:
    def __init__(
        self,
        *,
        regexp: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromRewriteRegexp", typing.Dict[builtins.str, typing.Any]]] = None,
        transform: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromRewriteTransform", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretRewrite defines rules on how to rewrite secret keys.

        :param regexp: Used to rewrite with regular expressions. The resulting key will be the output of a regexp.ReplaceAll operation.
        :param transform: Used to apply string transformation on the secrets. The resulting key will be the output of the template applied by the operation.

        :schema: ExternalSecretV1Beta1SpecDataFromRewrite
        '''
        if isinstance(regexp, dict):
            regexp = ExternalSecretV1Beta1SpecDataFromRewriteRegexp(**regexp)
        if isinstance(transform, dict):
            transform = ExternalSecretV1Beta1SpecDataFromRewriteTransform(**transform)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__454681f1cc3a392e81ef5c92bfa786dde1e38e7aaa5f2a3ed665e0b4cb009c13)
            check_type(argname="argument regexp", value=regexp, expected_type=type_hints["regexp"])
            check_type(argname="argument transform", value=transform, expected_type=type_hints["transform"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if regexp is not None:
            self._values["regexp"] = regexp
        if transform is not None:
            self._values["transform"] = transform

    @builtins.property
    def regexp(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromRewriteRegexp"]:
        '''Used to rewrite with regular expressions.

        The resulting key will be the output of a regexp.ReplaceAll operation.

        :schema: ExternalSecretV1Beta1SpecDataFromRewrite#regexp
        '''
        result = self._values.get("regexp")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromRewriteRegexp"], result)

    @builtins.property
    def transform(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromRewriteTransform"]:
        '''Used to apply string transformation on the secrets.

        The resulting key will be the output of the template applied by the operation.

        :schema: ExternalSecretV1Beta1SpecDataFromRewrite#transform
        '''
        result = self._values.get("transform")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromRewriteTransform"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromRewrite(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromRewriteRegexp",
    jsii_struct_bases=[],
    name_mapping={"source": "source", "target": "target"},
)
class ExternalSecretV1Beta1SpecDataFromRewriteRegexp:
    def __init__(self, *, source: builtins.str, target: builtins.str) -> None:
        '''Used to rewrite with regular expressions.

        The resulting key will be the output of a regexp.ReplaceAll operation.

        :param source: Used to define the regular expression of a re.Compiler.
        :param target: Used to define the target pattern of a ReplaceAll operation.

        :schema: ExternalSecretV1Beta1SpecDataFromRewriteRegexp
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__22d63d6e820ab00e4df04c49344342bd4731978ef6611c06c5ac4b5332794e7c)
            check_type(argname="argument source", value=source, expected_type=type_hints["source"])
            check_type(argname="argument target", value=target, expected_type=type_hints["target"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "source": source,
            "target": target,
        }

    @builtins.property
    def source(self) -> builtins.str:
        '''Used to define the regular expression of a re.Compiler.

        :schema: ExternalSecretV1Beta1SpecDataFromRewriteRegexp#source
        '''
        result = self._values.get("source")
        assert result is not None, "Required property 'source' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def target(self) -> builtins.str:
        '''Used to define the target pattern of a ReplaceAll operation.

        :schema: ExternalSecretV1Beta1SpecDataFromRewriteRegexp#target
        '''
        result = self._values.get("target")
        assert result is not None, "Required property 'target' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromRewriteRegexp(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromRewriteTransform",
    jsii_struct_bases=[],
    name_mapping={"template": "template"},
)
class ExternalSecretV1Beta1SpecDataFromRewriteTransform:
    def __init__(self, *, template: builtins.str) -> None:
        '''Used to apply string transformation on the secrets.

        The resulting key will be the output of the template applied by the operation.

        :param template: Used to define the template to apply on the secret name. ``.value `` will specify the secret name in the template.

        :schema: ExternalSecretV1Beta1SpecDataFromRewriteTransform
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__d47b0f8c8a5dc70763b8dc023f9180f55c381aaf0b4f19237eb10dcd1ac06128)
            check_type(argname="argument template", value=template, expected_type=type_hints["template"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "template": template,
        }

    @builtins.property
    def template(self) -> builtins.str:
        '''Used to define the template to apply on the secret name.

        ``.value `` will specify the secret name in the template.

        :schema: ExternalSecretV1Beta1SpecDataFromRewriteTransform#template
        '''
        result = self._values.get("template")
        assert result is not None, "Required property 'template' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromRewriteTransform(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromSourceRef",
    jsii_struct_bases=[],
    name_mapping={"generator_ref": "generatorRef", "store_ref": "storeRef"},
)
class ExternalSecretV1Beta1SpecDataFromSourceRef:
    def __init__(
        self,
        *,
        generator_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef", typing.Dict[builtins.str, typing.Any]]] = None,
        store_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''SourceRef points to a store or generator which contains secret values ready to use.

        Use this in combination with Extract or Find pull values out of
        a specific SecretStore.
        When sourceRef points to a generator Extract or Find is not supported.
        The generator returns a static map of values

        :param generator_ref: GeneratorRef points to a generator custom resource.
        :param store_ref: SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRef
        '''
        if isinstance(generator_ref, dict):
            generator_ref = ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef(**generator_ref)
        if isinstance(store_ref, dict):
            store_ref = ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef(**store_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__1e31764683713a9a8f8bf7cbe8fa64128cb17a25250a39a9dce43346a98e28ed)
            check_type(argname="argument generator_ref", value=generator_ref, expected_type=type_hints["generator_ref"])
            check_type(argname="argument store_ref", value=store_ref, expected_type=type_hints["store_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if generator_ref is not None:
            self._values["generator_ref"] = generator_ref
        if store_ref is not None:
            self._values["store_ref"] = store_ref

    @builtins.property
    def generator_ref(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef"]:
        '''GeneratorRef points to a generator custom resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRef#generatorRef
        '''
        result = self._values.get("generator_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef"], result)

    @builtins.property
    def store_ref(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef"]:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRef#storeRef
        '''
        result = self._values.get("store_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromSourceRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name", "api_version": "apiVersion"},
)
class ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef:
    def __init__(
        self,
        *,
        kind: "ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind",
        name: builtins.str,
        api_version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''GeneratorRef points to a generator custom resource.

        :param kind: Specify the Kind of the generator resource.
        :param name: Specify the name of the generator resource.
        :param api_version: Specify the apiVersion of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__a25657d5911002a9ed43593a36ebeae2b366d18947f1a909c37401825186ff0e)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument api_version", value=api_version, expected_type=type_hints["api_version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "name": name,
        }
        if api_version is not None:
            self._values["api_version"] = api_version

    @builtins.property
    def kind(self) -> "ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind":
        '''Specify the Kind of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast("ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind", result)

    @builtins.property
    def name(self) -> builtins.str:
        '''Specify the name of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def api_version(self) -> typing.Optional[builtins.str]:
        '''Specify the apiVersion of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef#apiVersion
        '''
        result = self._values.get("api_version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind"
)
class ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind(enum.Enum):
    '''Specify the Kind of the generator resource.

    :schema: ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind
    '''

    ACR_ACCESS_TOKEN = "ACR_ACCESS_TOKEN"
    '''ACRAccessToken.'''
    CLUSTER_GENERATOR = "CLUSTER_GENERATOR"
    '''ClusterGenerator.'''
    ECR_AUTHORIZATION_TOKEN = "ECR_AUTHORIZATION_TOKEN"
    '''ECRAuthorizationToken.'''
    FAKE = "FAKE"
    '''Fake.'''
    GCR_ACCESS_TOKEN = "GCR_ACCESS_TOKEN"
    '''GCRAccessToken.'''
    GITHUB_ACCESS_TOKEN = "GITHUB_ACCESS_TOKEN"
    '''GithubAccessToken.'''
    QUAY_ACCESS_TOKEN = "QUAY_ACCESS_TOKEN"
    '''QuayAccessToken.'''
    PASSWORD = "PASSWORD"
    '''Password.'''
    SSH_KEY = "SSH_KEY"
    '''SSHKey.'''
    STS_SESSION_TOKEN = "STS_SESSION_TOKEN"
    '''STSSessionToken.'''
    UUID = "UUID"
    '''UUID.'''
    VAULT_DYNAMIC_SECRET = "VAULT_DYNAMIC_SECRET"
    '''VaultDynamicSecret.'''
    WEBHOOK = "WEBHOOK"
    '''Webhook.'''
    GRAFANA = "GRAFANA"
    '''Grafana.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name"},
)
class ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef:
    def __init__(
        self,
        *,
        kind: typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind"] = None,
        name: typing.Optional[builtins.str] = None,
    ) -> None:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :param kind: Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``. Default: SecretStore`
        :param name: Name of the SecretStore resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__313a803335f1a3dcc9bd5c2b02ad7bab54c82cffdedec119f8d273c3ca941610)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if kind is not None:
            self._values["kind"] = kind
        if name is not None:
            self._values["name"] = name

    @builtins.property
    def kind(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind"]:
        '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

        :default: SecretStore`

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef#kind
        '''
        result = self._values.get("kind")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name of the SecretStore resource.

        :schema: ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind"
)
class ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind(enum.Enum):
    '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

    :default: SecretStore`

    :schema: ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind
    '''

    SECRET_STORE = "SECRET_STORE"
    '''SecretStore.'''
    CLUSTER_SECRET_STORE = "CLUSTER_SECRET_STORE"
    '''ClusterSecretStore.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataRemoteRef",
    jsii_struct_bases=[],
    name_mapping={
        "key": "key",
        "conversion_strategy": "conversionStrategy",
        "decoding_strategy": "decodingStrategy",
        "metadata_policy": "metadataPolicy",
        "property": "property",
        "version": "version",
    },
)
class ExternalSecretV1Beta1SpecDataRemoteRef:
    def __init__(
        self,
        *,
        key: builtins.str,
        conversion_strategy: typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy"] = None,
        decoding_strategy: typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy"] = None,
        metadata_policy: typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy"] = None,
        property: typing.Optional[builtins.str] = None,
        version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''RemoteRef points to the remote secret and defines which secret (version/property/..) to fetch.

        :param key: Key is the key used in the Provider, mandatory.
        :param conversion_strategy: Used to define a conversion Strategy.
        :param decoding_strategy: Used to define a decoding Strategy.
        :param metadata_policy: Policy for fetching tags/labels from provider secrets, possible options are Fetch, None. Defaults to None Default: None
        :param property: Used to select a specific property of the Provider value (if a map), if supported.
        :param version: Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__823faeef50b2c0df69c9ae99b8ab132511378b031b5042afba0c9fe24ba93dd4)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument conversion_strategy", value=conversion_strategy, expected_type=type_hints["conversion_strategy"])
            check_type(argname="argument decoding_strategy", value=decoding_strategy, expected_type=type_hints["decoding_strategy"])
            check_type(argname="argument metadata_policy", value=metadata_policy, expected_type=type_hints["metadata_policy"])
            check_type(argname="argument property", value=property, expected_type=type_hints["property"])
            check_type(argname="argument version", value=version, expected_type=type_hints["version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if conversion_strategy is not None:
            self._values["conversion_strategy"] = conversion_strategy
        if decoding_strategy is not None:
            self._values["decoding_strategy"] = decoding_strategy
        if metadata_policy is not None:
            self._values["metadata_policy"] = metadata_policy
        if property is not None:
            self._values["property"] = property
        if version is not None:
            self._values["version"] = version

    @builtins.property
    def key(self) -> builtins.str:
        '''Key is the key used in the Provider, mandatory.

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def conversion_strategy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy"]:
        '''Used to define a conversion Strategy.

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef#conversionStrategy
        '''
        result = self._values.get("conversion_strategy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy"], result)

    @builtins.property
    def decoding_strategy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy"]:
        '''Used to define a decoding Strategy.

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef#decodingStrategy
        '''
        result = self._values.get("decoding_strategy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy"], result)

    @builtins.property
    def metadata_policy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy"]:
        '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

        Defaults to None

        :default: None

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef#metadataPolicy
        '''
        result = self._values.get("metadata_policy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy"], result)

    @builtins.property
    def property(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific property of the Provider value (if a map), if supported.

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef#property
        '''
        result = self._values.get("property")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def version(self) -> typing.Optional[builtins.str]:
        '''Used to select a specific version of the Provider value, if supported.

        :schema: ExternalSecretV1Beta1SpecDataRemoteRef#version
        '''
        result = self._values.get("version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataRemoteRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy"
)
class ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy(enum.Enum):
    '''Used to define a conversion Strategy.

    :schema: ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy
    '''

    DEFAULT = "DEFAULT"
    '''Default.'''
    UNICODE = "UNICODE"
    '''Unicode.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy"
)
class ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy(enum.Enum):
    '''Used to define a decoding Strategy.

    :schema: ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy
    '''

    AUTO = "AUTO"
    '''Auto.'''
    BASE64 = "BASE64"
    '''Base64.'''
    BASE64_URL = "BASE64_URL"
    '''Base64URL.'''
    NONE = "NONE"
    '''None.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy"
)
class ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy(enum.Enum):
    '''Policy for fetching tags/labels from provider secrets, possible options are Fetch, None.

    Defaults to None

    :default: None

    :schema: ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy
    '''

    NONE = "NONE"
    '''None.'''
    FETCH = "FETCH"
    '''Fetch.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataSourceRef",
    jsii_struct_bases=[],
    name_mapping={"generator_ref": "generatorRef", "store_ref": "storeRef"},
)
class ExternalSecretV1Beta1SpecDataSourceRef:
    def __init__(
        self,
        *,
        generator_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef", typing.Dict[builtins.str, typing.Any]]] = None,
        store_ref: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecDataSourceRefStoreRef", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''SourceRef allows you to override the source from which the value will be pulled.

        :param generator_ref: GeneratorRef points to a generator custom resource. Deprecated: The generatorRef is not implemented in .data[]. this will be removed with v1.
        :param store_ref: SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretV1Beta1SpecDataSourceRef
        '''
        if isinstance(generator_ref, dict):
            generator_ref = ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef(**generator_ref)
        if isinstance(store_ref, dict):
            store_ref = ExternalSecretV1Beta1SpecDataSourceRefStoreRef(**store_ref)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__ddbbc6e6e35a17c0e134f27793083186c7768306a73ee6e63372b5181a919122)
            check_type(argname="argument generator_ref", value=generator_ref, expected_type=type_hints["generator_ref"])
            check_type(argname="argument store_ref", value=store_ref, expected_type=type_hints["store_ref"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if generator_ref is not None:
            self._values["generator_ref"] = generator_ref
        if store_ref is not None:
            self._values["store_ref"] = store_ref

    @builtins.property
    def generator_ref(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef"]:
        '''GeneratorRef points to a generator custom resource.

        Deprecated: The generatorRef is not implemented in .data[].
        this will be removed with v1.

        :schema: ExternalSecretV1Beta1SpecDataSourceRef#generatorRef
        '''
        result = self._values.get("generator_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef"], result)

    @builtins.property
    def store_ref(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefStoreRef"]:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :schema: ExternalSecretV1Beta1SpecDataSourceRef#storeRef
        '''
        result = self._values.get("store_ref")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefStoreRef"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataSourceRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name", "api_version": "apiVersion"},
)
class ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef:
    def __init__(
        self,
        *,
        kind: "ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind",
        name: builtins.str,
        api_version: typing.Optional[builtins.str] = None,
    ) -> None:
        '''GeneratorRef points to a generator custom resource.

        Deprecated: The generatorRef is not implemented in .data[].
        this will be removed with v1.

        :param kind: Specify the Kind of the generator resource.
        :param name: Specify the name of the generator resource.
        :param api_version: Specify the apiVersion of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__294137a19635c86246291dbae5ba6d655fd0cc9233328d9348f5622e2d5487eb)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument api_version", value=api_version, expected_type=type_hints["api_version"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "kind": kind,
            "name": name,
        }
        if api_version is not None:
            self._values["api_version"] = api_version

    @builtins.property
    def kind(self) -> "ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind":
        '''Specify the Kind of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef#kind
        '''
        result = self._values.get("kind")
        assert result is not None, "Required property 'kind' is missing"
        return typing.cast("ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind", result)

    @builtins.property
    def name(self) -> builtins.str:
        '''Specify the name of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def api_version(self) -> typing.Optional[builtins.str]:
        '''Specify the apiVersion of the generator resource.

        :schema: ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef#apiVersion
        '''
        result = self._values.get("api_version")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind"
)
class ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind(enum.Enum):
    '''Specify the Kind of the generator resource.

    :schema: ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind
    '''

    ACR_ACCESS_TOKEN = "ACR_ACCESS_TOKEN"
    '''ACRAccessToken.'''
    CLUSTER_GENERATOR = "CLUSTER_GENERATOR"
    '''ClusterGenerator.'''
    ECR_AUTHORIZATION_TOKEN = "ECR_AUTHORIZATION_TOKEN"
    '''ECRAuthorizationToken.'''
    FAKE = "FAKE"
    '''Fake.'''
    GCR_ACCESS_TOKEN = "GCR_ACCESS_TOKEN"
    '''GCRAccessToken.'''
    GITHUB_ACCESS_TOKEN = "GITHUB_ACCESS_TOKEN"
    '''GithubAccessToken.'''
    QUAY_ACCESS_TOKEN = "QUAY_ACCESS_TOKEN"
    '''QuayAccessToken.'''
    PASSWORD = "PASSWORD"
    '''Password.'''
    SSH_KEY = "SSH_KEY"
    '''SSHKey.'''
    STS_SESSION_TOKEN = "STS_SESSION_TOKEN"
    '''STSSessionToken.'''
    UUID = "UUID"
    '''UUID.'''
    VAULT_DYNAMIC_SECRET = "VAULT_DYNAMIC_SECRET"
    '''VaultDynamicSecret.'''
    WEBHOOK = "WEBHOOK"
    '''Webhook.'''
    GRAFANA = "GRAFANA"
    '''Grafana.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataSourceRefStoreRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name"},
)
class ExternalSecretV1Beta1SpecDataSourceRefStoreRef:
    def __init__(
        self,
        *,
        kind: typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind"] = None,
        name: typing.Optional[builtins.str] = None,
    ) -> None:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :param kind: Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``. Default: SecretStore`
        :param name: Name of the SecretStore resource.

        :schema: ExternalSecretV1Beta1SpecDataSourceRefStoreRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7ee05ae4a797f40081b7fc7ff7fbe24176ce4f18ec8da215e046951f11bebeca)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if kind is not None:
            self._values["kind"] = kind
        if name is not None:
            self._values["name"] = name

    @builtins.property
    def kind(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind"]:
        '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

        :default: SecretStore`

        :schema: ExternalSecretV1Beta1SpecDataSourceRefStoreRef#kind
        '''
        result = self._values.get("kind")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name of the SecretStore resource.

        :schema: ExternalSecretV1Beta1SpecDataSourceRefStoreRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecDataSourceRefStoreRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind"
)
class ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind(enum.Enum):
    '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

    :default: SecretStore`

    :schema: ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind
    '''

    SECRET_STORE = "SECRET_STORE"
    '''SecretStore.'''
    CLUSTER_SECRET_STORE = "CLUSTER_SECRET_STORE"
    '''ClusterSecretStore.'''


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecRefreshPolicy")
class ExternalSecretV1Beta1SpecRefreshPolicy(enum.Enum):
    '''RefreshPolicy determines how the ExternalSecret should be refreshed: - CreatedOnce: Creates the Secret only if it does not exist and does not update it thereafter - Periodic: Synchronizes the Secret from the external source at regular intervals specified by refreshInterval.

    No periodic updates occur if refreshInterval is 0.

    - OnChange: Only synchronizes the Secret when the ExternalSecret's metadata or specification changes

    :schema: ExternalSecretV1Beta1SpecRefreshPolicy
    '''

    CREATED_ONCE = "CREATED_ONCE"
    '''CreatedOnce.'''
    PERIODIC = "PERIODIC"
    '''Periodic.'''
    ON_CHANGE = "ON_CHANGE"
    '''OnChange.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecSecretStoreRef",
    jsii_struct_bases=[],
    name_mapping={"kind": "kind", "name": "name"},
)
class ExternalSecretV1Beta1SpecSecretStoreRef:
    def __init__(
        self,
        *,
        kind: typing.Optional["ExternalSecretV1Beta1SpecSecretStoreRefKind"] = None,
        name: typing.Optional[builtins.str] = None,
    ) -> None:
        '''SecretStoreRef defines which SecretStore to fetch the ExternalSecret data.

        :param kind: Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``. Default: SecretStore`
        :param name: Name of the SecretStore resource.

        :schema: ExternalSecretV1Beta1SpecSecretStoreRef
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__7f1f99a615b28ea8c79a67cd067ee214dfafc7d9ce344d5895cdcba82c5d4337)
            check_type(argname="argument kind", value=kind, expected_type=type_hints["kind"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if kind is not None:
            self._values["kind"] = kind
        if name is not None:
            self._values["name"] = name

    @builtins.property
    def kind(self) -> typing.Optional["ExternalSecretV1Beta1SpecSecretStoreRefKind"]:
        '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

        :default: SecretStore`

        :schema: ExternalSecretV1Beta1SpecSecretStoreRef#kind
        '''
        result = self._values.get("kind")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecSecretStoreRefKind"], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''Name of the SecretStore resource.

        :schema: ExternalSecretV1Beta1SpecSecretStoreRef#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecSecretStoreRef(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecSecretStoreRefKind")
class ExternalSecretV1Beta1SpecSecretStoreRefKind(enum.Enum):
    '''Kind of the SecretStore resource (SecretStore or ClusterSecretStore) Defaults to ``SecretStore``.

    :default: SecretStore`

    :schema: ExternalSecretV1Beta1SpecSecretStoreRefKind
    '''

    SECRET_STORE = "SECRET_STORE"
    '''SecretStore.'''
    CLUSTER_SECRET_STORE = "CLUSTER_SECRET_STORE"
    '''ClusterSecretStore.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTarget",
    jsii_struct_bases=[],
    name_mapping={
        "creation_policy": "creationPolicy",
        "deletion_policy": "deletionPolicy",
        "immutable": "immutable",
        "name": "name",
        "template": "template",
    },
)
class ExternalSecretV1Beta1SpecTarget:
    def __init__(
        self,
        *,
        creation_policy: typing.Optional["ExternalSecretV1Beta1SpecTargetCreationPolicy"] = None,
        deletion_policy: typing.Optional["ExternalSecretV1Beta1SpecTargetDeletionPolicy"] = None,
        immutable: typing.Optional[builtins.bool] = None,
        name: typing.Optional[builtins.str] = None,
        template: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecTargetTemplate", typing.Dict[builtins.str, typing.Any]]] = None,
    ) -> None:
        '''ExternalSecretTarget defines the Kubernetes Secret to be created There can be only one target per ExternalSecret.

        :param creation_policy: CreationPolicy defines rules on how to create the resulting Secret. Defaults to "Owner" Default: Owner"
        :param deletion_policy: DeletionPolicy defines rules on how to delete the resulting Secret. Defaults to "Retain" Default: Retain"
        :param immutable: Immutable defines if the final secret will be immutable.
        :param name: The name of the Secret resource to be managed. Defaults to the .metadata.name of the ExternalSecret resource Default: the .metadata.name of the ExternalSecret resource
        :param template: Template defines a blueprint for the created Secret resource.

        :schema: ExternalSecretV1Beta1SpecTarget
        '''
        if isinstance(template, dict):
            template = ExternalSecretV1Beta1SpecTargetTemplate(**template)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__137058ee7bb8bbf207a1c6bea2d7edc847fcb8e66808b8a474d9e3f6cf606abd)
            check_type(argname="argument creation_policy", value=creation_policy, expected_type=type_hints["creation_policy"])
            check_type(argname="argument deletion_policy", value=deletion_policy, expected_type=type_hints["deletion_policy"])
            check_type(argname="argument immutable", value=immutable, expected_type=type_hints["immutable"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
            check_type(argname="argument template", value=template, expected_type=type_hints["template"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if creation_policy is not None:
            self._values["creation_policy"] = creation_policy
        if deletion_policy is not None:
            self._values["deletion_policy"] = deletion_policy
        if immutable is not None:
            self._values["immutable"] = immutable
        if name is not None:
            self._values["name"] = name
        if template is not None:
            self._values["template"] = template

    @builtins.property
    def creation_policy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetCreationPolicy"]:
        '''CreationPolicy defines rules on how to create the resulting Secret.

        Defaults to "Owner"

        :default: Owner"

        :schema: ExternalSecretV1Beta1SpecTarget#creationPolicy
        '''
        result = self._values.get("creation_policy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetCreationPolicy"], result)

    @builtins.property
    def deletion_policy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetDeletionPolicy"]:
        '''DeletionPolicy defines rules on how to delete the resulting Secret.

        Defaults to "Retain"

        :default: Retain"

        :schema: ExternalSecretV1Beta1SpecTarget#deletionPolicy
        '''
        result = self._values.get("deletion_policy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetDeletionPolicy"], result)

    @builtins.property
    def immutable(self) -> typing.Optional[builtins.bool]:
        '''Immutable defines if the final secret will be immutable.

        :schema: ExternalSecretV1Beta1SpecTarget#immutable
        '''
        result = self._values.get("immutable")
        return typing.cast(typing.Optional[builtins.bool], result)

    @builtins.property
    def name(self) -> typing.Optional[builtins.str]:
        '''The name of the Secret resource to be managed.

        Defaults to the .metadata.name of the ExternalSecret resource

        :default: the .metadata.name of the ExternalSecret resource

        :schema: ExternalSecretV1Beta1SpecTarget#name
        '''
        result = self._values.get("name")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def template(self) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplate"]:
        '''Template defines a blueprint for the created Secret resource.

        :schema: ExternalSecretV1Beta1SpecTarget#template
        '''
        result = self._values.get("template")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplate"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTarget(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetCreationPolicy"
)
class ExternalSecretV1Beta1SpecTargetCreationPolicy(enum.Enum):
    '''CreationPolicy defines rules on how to create the resulting Secret.

    Defaults to "Owner"

    :default: Owner"

    :schema: ExternalSecretV1Beta1SpecTargetCreationPolicy
    '''

    OWNER = "OWNER"
    '''Owner.'''
    ORPHAN = "ORPHAN"
    '''Orphan.'''
    MERGE = "MERGE"
    '''Merge.'''
    NONE = "NONE"
    '''None.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetDeletionPolicy"
)
class ExternalSecretV1Beta1SpecTargetDeletionPolicy(enum.Enum):
    '''DeletionPolicy defines rules on how to delete the resulting Secret.

    Defaults to "Retain"

    :default: Retain"

    :schema: ExternalSecretV1Beta1SpecTargetDeletionPolicy
    '''

    DELETE = "DELETE"
    '''Delete.'''
    MERGE = "MERGE"
    '''Merge.'''
    RETAIN = "RETAIN"
    '''Retain.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplate",
    jsii_struct_bases=[],
    name_mapping={
        "data": "data",
        "engine_version": "engineVersion",
        "merge_policy": "mergePolicy",
        "metadata": "metadata",
        "template_from": "templateFrom",
        "type": "type",
    },
)
class ExternalSecretV1Beta1SpecTargetTemplate:
    def __init__(
        self,
        *,
        data: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
        engine_version: typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateEngineVersion"] = None,
        merge_policy: typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateMergePolicy"] = None,
        metadata: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecTargetTemplateMetadata", typing.Dict[builtins.str, typing.Any]]] = None,
        template_from: typing.Optional[typing.Sequence[typing.Union["ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom", typing.Dict[builtins.str, typing.Any]]]] = None,
        type: typing.Optional[builtins.str] = None,
    ) -> None:
        '''Template defines a blueprint for the created Secret resource.

        :param data: 
        :param engine_version: EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].
        :param merge_policy: TemplateMergePolicy defines how template values should be merged when generating a secret.
        :param metadata: ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.
        :param template_from: 
        :param type: 

        :schema: ExternalSecretV1Beta1SpecTargetTemplate
        '''
        if isinstance(metadata, dict):
            metadata = ExternalSecretV1Beta1SpecTargetTemplateMetadata(**metadata)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__0845c9cb8505c291793a6fac848aa5d4340d17ecc2e58386511e13ecba7b0d77)
            check_type(argname="argument data", value=data, expected_type=type_hints["data"])
            check_type(argname="argument engine_version", value=engine_version, expected_type=type_hints["engine_version"])
            check_type(argname="argument merge_policy", value=merge_policy, expected_type=type_hints["merge_policy"])
            check_type(argname="argument metadata", value=metadata, expected_type=type_hints["metadata"])
            check_type(argname="argument template_from", value=template_from, expected_type=type_hints["template_from"])
            check_type(argname="argument type", value=type, expected_type=type_hints["type"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if data is not None:
            self._values["data"] = data
        if engine_version is not None:
            self._values["engine_version"] = engine_version
        if merge_policy is not None:
            self._values["merge_policy"] = merge_policy
        if metadata is not None:
            self._values["metadata"] = metadata
        if template_from is not None:
            self._values["template_from"] = template_from
        if type is not None:
            self._values["type"] = type

    @builtins.property
    def data(self) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''
        :schema: ExternalSecretV1Beta1SpecTargetTemplate#data
        '''
        result = self._values.get("data")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    @builtins.property
    def engine_version(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateEngineVersion"]:
        '''EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].

        :schema: ExternalSecretV1Beta1SpecTargetTemplate#engineVersion
        '''
        result = self._values.get("engine_version")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateEngineVersion"], result)

    @builtins.property
    def merge_policy(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateMergePolicy"]:
        '''TemplateMergePolicy defines how template values should be merged when generating a secret.

        :schema: ExternalSecretV1Beta1SpecTargetTemplate#mergePolicy
        '''
        result = self._values.get("merge_policy")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateMergePolicy"], result)

    @builtins.property
    def metadata(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateMetadata"]:
        '''ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.

        :schema: ExternalSecretV1Beta1SpecTargetTemplate#metadata
        '''
        result = self._values.get("metadata")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateMetadata"], result)

    @builtins.property
    def template_from(
        self,
    ) -> typing.Optional[typing.List["ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom"]]:
        '''
        :schema: ExternalSecretV1Beta1SpecTargetTemplate#templateFrom
        '''
        result = self._values.get("template_from")
        return typing.cast(typing.Optional[typing.List["ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom"]], result)

    @builtins.property
    def type(self) -> typing.Optional[builtins.str]:
        '''
        :schema: ExternalSecretV1Beta1SpecTargetTemplate#type
        '''
        result = self._values.get("type")
        return typing.cast(typing.Optional[builtins.str], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplate(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateEngineVersion"
)
class ExternalSecretV1Beta1SpecTargetTemplateEngineVersion(enum.Enum):
    '''EngineVersion specifies the template engine version that should be used to compile/execute the template specified in .data and .templateFrom[].

    :schema: ExternalSecretV1Beta1SpecTargetTemplateEngineVersion
    '''

    V2 = "V2"
    '''v2.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateMergePolicy"
)
class ExternalSecretV1Beta1SpecTargetTemplateMergePolicy(enum.Enum):
    '''TemplateMergePolicy defines how template values should be merged when generating a secret.

    :schema: ExternalSecretV1Beta1SpecTargetTemplateMergePolicy
    '''

    REPLACE = "REPLACE"
    '''Replace.'''
    MERGE = "MERGE"
    '''Merge.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateMetadata",
    jsii_struct_bases=[],
    name_mapping={"annotations": "annotations", "labels": "labels"},
)
class ExternalSecretV1Beta1SpecTargetTemplateMetadata:
    def __init__(
        self,
        *,
        annotations: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
        labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    ) -> None:
        '''ExternalSecretTemplateMetadata defines metadata fields for the Secret blueprint.

        :param annotations: 
        :param labels: 

        :schema: ExternalSecretV1Beta1SpecTargetTemplateMetadata
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__018d8922bc23dbcc72288a6bb9df1ee13ec20a354c2863ebe6f5778d0547c2b9)
            check_type(argname="argument annotations", value=annotations, expected_type=type_hints["annotations"])
            check_type(argname="argument labels", value=labels, expected_type=type_hints["labels"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if annotations is not None:
            self._values["annotations"] = annotations
        if labels is not None:
            self._values["labels"] = labels

    @builtins.property
    def annotations(
        self,
    ) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''
        :schema: ExternalSecretV1Beta1SpecTargetTemplateMetadata#annotations
        '''
        result = self._values.get("annotations")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    @builtins.property
    def labels(self) -> typing.Optional[typing.Mapping[builtins.str, builtins.str]]:
        '''
        :schema: ExternalSecretV1Beta1SpecTargetTemplateMetadata#labels
        '''
        result = self._values.get("labels")
        return typing.cast(typing.Optional[typing.Mapping[builtins.str, builtins.str]], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplateMetadata(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom",
    jsii_struct_bases=[],
    name_mapping={
        "config_map": "configMap",
        "literal": "literal",
        "secret": "secret",
        "target": "target",
    },
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom:
    def __init__(
        self,
        *,
        config_map: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap", typing.Dict[builtins.str, typing.Any]]] = None,
        literal: typing.Optional[builtins.str] = None,
        secret: typing.Optional[typing.Union["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret", typing.Dict[builtins.str, typing.Any]]] = None,
        target: typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget"] = None,
    ) -> None:
        '''TemplateFrom defines a source for template data.

        :param config_map: TemplateRef defines a reference to a template source in a ConfigMap or Secret.
        :param literal: 
        :param secret: TemplateRef defines a reference to a template source in a ConfigMap or Secret.
        :param target: TemplateTarget defines the target field where the template result will be stored.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom
        '''
        if isinstance(config_map, dict):
            config_map = ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap(**config_map)
        if isinstance(secret, dict):
            secret = ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret(**secret)
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__cf8068a43ca684f4a943d7d5e82ab5f65a31b37cd2681ead194fa54dd950d01d)
            check_type(argname="argument config_map", value=config_map, expected_type=type_hints["config_map"])
            check_type(argname="argument literal", value=literal, expected_type=type_hints["literal"])
            check_type(argname="argument secret", value=secret, expected_type=type_hints["secret"])
            check_type(argname="argument target", value=target, expected_type=type_hints["target"])
        self._values: typing.Dict[builtins.str, typing.Any] = {}
        if config_map is not None:
            self._values["config_map"] = config_map
        if literal is not None:
            self._values["literal"] = literal
        if secret is not None:
            self._values["secret"] = secret
        if target is not None:
            self._values["target"] = target

    @builtins.property
    def config_map(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap"]:
        '''TemplateRef defines a reference to a template source in a ConfigMap or Secret.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom#configMap
        '''
        result = self._values.get("config_map")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap"], result)

    @builtins.property
    def literal(self) -> typing.Optional[builtins.str]:
        '''
        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom#literal
        '''
        result = self._values.get("literal")
        return typing.cast(typing.Optional[builtins.str], result)

    @builtins.property
    def secret(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret"]:
        '''TemplateRef defines a reference to a template source in a ConfigMap or Secret.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom#secret
        '''
        result = self._values.get("secret")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret"], result)

    @builtins.property
    def target(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget"]:
        '''TemplateTarget defines the target field where the template result will be stored.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom#target
        '''
        result = self._values.get("target")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap",
    jsii_struct_bases=[],
    name_mapping={"items": "items", "name": "name"},
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap:
    def __init__(
        self,
        *,
        items: typing.Sequence[typing.Union["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems", typing.Dict[builtins.str, typing.Any]]],
        name: builtins.str,
    ) -> None:
        '''TemplateRef defines a reference to a template source in a ConfigMap or Secret.

        :param items: A list of keys in the ConfigMap/Secret to use as templates for Secret data.
        :param name: The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__5d4521141f13b4bd1ec1e9d03377bb4f8fb99f832992af18de111f17b9698448)
            check_type(argname="argument items", value=items, expected_type=type_hints["items"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "items": items,
            "name": name,
        }

    @builtins.property
    def items(
        self,
    ) -> typing.List["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems"]:
        '''A list of keys in the ConfigMap/Secret to use as templates for Secret data.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap#items
        '''
        result = self._values.get("items")
        assert result is not None, "Required property 'items' is missing"
        return typing.cast(typing.List["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems"], result)

    @builtins.property
    def name(self) -> builtins.str:
        '''The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "template_as": "templateAs"},
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems:
    def __init__(
        self,
        *,
        key: builtins.str,
        template_as: typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"] = None,
    ) -> None:
        '''TemplateRefItem defines which key in the referenced ConfigMap or Secret to use as a template.

        :param key: A key in the ConfigMap/Secret.
        :param template_as: TemplateScope defines the scope of the template when processing template data.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__450b9bfafc5b457a75263d0420c05dfd89276947b601ed2cd9c63bca7bc8c6ed)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument template_as", value=template_as, expected_type=type_hints["template_as"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if template_as is not None:
            self._values["template_as"] = template_as

    @builtins.property
    def key(self) -> builtins.str:
        '''A key in the ConfigMap/Secret.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def template_as(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"]:
        '''TemplateScope defines the scope of the template when processing template data.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems#templateAs
        '''
        result = self._values.get("template_as")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs"
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs(
    enum.Enum,
):
    '''TemplateScope defines the scope of the template when processing template data.

    :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs
    '''

    VALUES = "VALUES"
    '''Values.'''
    KEYS_AND_VALUES = "KEYS_AND_VALUES"
    '''KeysAndValues.'''


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret",
    jsii_struct_bases=[],
    name_mapping={"items": "items", "name": "name"},
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret:
    def __init__(
        self,
        *,
        items: typing.Sequence[typing.Union["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems", typing.Dict[builtins.str, typing.Any]]],
        name: builtins.str,
    ) -> None:
        '''TemplateRef defines a reference to a template source in a ConfigMap or Secret.

        :param items: A list of keys in the ConfigMap/Secret to use as templates for Secret data.
        :param name: The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__a4a2e35d3be01cb8a634eeb73ba90e80dfeb0ffe5653a7d44637ac186ee815e7)
            check_type(argname="argument items", value=items, expected_type=type_hints["items"])
            check_type(argname="argument name", value=name, expected_type=type_hints["name"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "items": items,
            "name": name,
        }

    @builtins.property
    def items(
        self,
    ) -> typing.List["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems"]:
        '''A list of keys in the ConfigMap/Secret to use as templates for Secret data.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret#items
        '''
        result = self._values.get("items")
        assert result is not None, "Required property 'items' is missing"
        return typing.cast(typing.List["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems"], result)

    @builtins.property
    def name(self) -> builtins.str:
        '''The name of the ConfigMap/Secret resource.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret#name
        '''
        result = self._values.get("name")
        assert result is not None, "Required property 'name' is missing"
        return typing.cast(builtins.str, result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.data_type(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems",
    jsii_struct_bases=[],
    name_mapping={"key": "key", "template_as": "templateAs"},
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems:
    def __init__(
        self,
        *,
        key: builtins.str,
        template_as: typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs"] = None,
    ) -> None:
        '''TemplateRefItem defines which key in the referenced ConfigMap or Secret to use as a template.

        :param key: A key in the ConfigMap/Secret.
        :param template_as: TemplateScope defines the scope of the template when processing template data.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems
        '''
        if __debug__:
            type_hints = cached_type_hints(_typecheckingstub__2623eb672daf55d319267bd37583020eebefd412a2e3fa6a451b378cf22e9522)
            check_type(argname="argument key", value=key, expected_type=type_hints["key"])
            check_type(argname="argument template_as", value=template_as, expected_type=type_hints["template_as"])
        self._values: typing.Dict[builtins.str, typing.Any] = {
            "key": key,
        }
        if template_as is not None:
            self._values["template_as"] = template_as

    @builtins.property
    def key(self) -> builtins.str:
        '''A key in the ConfigMap/Secret.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems#key
        '''
        result = self._values.get("key")
        assert result is not None, "Required property 'key' is missing"
        return typing.cast(builtins.str, result)

    @builtins.property
    def template_as(
        self,
    ) -> typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs"]:
        '''TemplateScope defines the scope of the template when processing template data.

        :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems#templateAs
        '''
        result = self._values.get("template_as")
        return typing.cast(typing.Optional["ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs"], result)

    def __eq__(self, rhs: typing.Any) -> builtins.bool:
        return isinstance(rhs, self.__class__) and rhs._values == self._values

    def __ne__(self, rhs: typing.Any) -> builtins.bool:
        return not (rhs == self)

    def __repr__(self) -> str:
        return "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems(%s)" % ", ".join(
            k + "=" + repr(v) for k, v in self._values.items()
        )


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs"
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs(
    enum.Enum,
):
    '''TemplateScope defines the scope of the template when processing template data.

    :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs
    '''

    VALUES = "VALUES"
    '''Values.'''
    KEYS_AND_VALUES = "KEYS_AND_VALUES"
    '''KeysAndValues.'''


@jsii.enum(
    jsii_type="ioexternal-secrets.ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget"
)
class ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget(enum.Enum):
    '''TemplateTarget defines the target field where the template result will be stored.

    :schema: ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget
    '''

    DATA = "DATA"
    '''Data.'''
    ANNOTATIONS = "ANNOTATIONS"
    '''Annotations.'''
    LABELS = "LABELS"
    '''Labels.'''


__all__ = [
    "ClusterSecretStore",
    "ClusterSecretStoreProps",
    "ClusterSecretStoreSpec",
    "ClusterSecretStoreSpecConditions",
    "ClusterSecretStoreSpecConditionsNamespaceSelector",
    "ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions",
    "ClusterSecretStoreSpecProvider",
    "ClusterSecretStoreSpecProviderAws",
    "ClusterSecretStoreSpecProviderAwsAuth",
    "ClusterSecretStoreSpecProviderAwsAuthJwt",
    "ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef",
    "ClusterSecretStoreSpecProviderAwsAuthSecretRef",
    "ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef",
    "ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef",
    "ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef",
    "ClusterSecretStoreSpecProviderAwsSecretsManager",
    "ClusterSecretStoreSpecProviderAwsService",
    "ClusterSecretStoreSpecProviderAwsSessionTags",
    "ClusterSecretStoreSpecProviderAwsSessionTagsPolicy",
    "ClusterSecretStoreSpecRefreshInterval",
    "ClusterSecretStoreSpecRetrySettings",
    "ClusterSecretStoreV1Beta1",
    "ClusterSecretStoreV1Beta1Props",
    "ClusterSecretStoreV1Beta1Spec",
    "ClusterSecretStoreV1Beta1SpecConditions",
    "ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector",
    "ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions",
    "ClusterSecretStoreV1Beta1SpecProvider",
    "ClusterSecretStoreV1Beta1SpecProviderAws",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuth",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef",
    "ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef",
    "ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager",
    "ClusterSecretStoreV1Beta1SpecProviderAwsService",
    "ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags",
    "ClusterSecretStoreV1Beta1SpecRetrySettings",
    "ExternalSecret",
    "ExternalSecretProps",
    "ExternalSecretSpec",
    "ExternalSecretSpecData",
    "ExternalSecretSpecDataFrom",
    "ExternalSecretSpecDataFromExtract",
    "ExternalSecretSpecDataFromExtractConversionStrategy",
    "ExternalSecretSpecDataFromExtractDecodingStrategy",
    "ExternalSecretSpecDataFromExtractMetadataPolicy",
    "ExternalSecretSpecDataFromExtractNullBytePolicy",
    "ExternalSecretSpecDataFromFind",
    "ExternalSecretSpecDataFromFindConversionStrategy",
    "ExternalSecretSpecDataFromFindDecodingStrategy",
    "ExternalSecretSpecDataFromFindName",
    "ExternalSecretSpecDataFromFindNullBytePolicy",
    "ExternalSecretSpecDataFromRewrite",
    "ExternalSecretSpecDataFromRewriteMerge",
    "ExternalSecretSpecDataFromRewriteMergeConflictPolicy",
    "ExternalSecretSpecDataFromRewriteMergePriorityPolicy",
    "ExternalSecretSpecDataFromRewriteMergeStrategy",
    "ExternalSecretSpecDataFromRewriteRegexp",
    "ExternalSecretSpecDataFromRewriteTransform",
    "ExternalSecretSpecDataFromSourceRef",
    "ExternalSecretSpecDataFromSourceRefGeneratorRef",
    "ExternalSecretSpecDataFromSourceRefGeneratorRefKind",
    "ExternalSecretSpecDataFromSourceRefStoreRef",
    "ExternalSecretSpecDataFromSourceRefStoreRefKind",
    "ExternalSecretSpecDataRemoteRef",
    "ExternalSecretSpecDataRemoteRefConversionStrategy",
    "ExternalSecretSpecDataRemoteRefDecodingStrategy",
    "ExternalSecretSpecDataRemoteRefMetadataPolicy",
    "ExternalSecretSpecDataRemoteRefNullBytePolicy",
    "ExternalSecretSpecDataSourceRef",
    "ExternalSecretSpecDataSourceRefGeneratorRef",
    "ExternalSecretSpecDataSourceRefGeneratorRefKind",
    "ExternalSecretSpecDataSourceRefStoreRef",
    "ExternalSecretSpecDataSourceRefStoreRefKind",
    "ExternalSecretSpecRefreshPolicy",
    "ExternalSecretSpecSecretStoreRef",
    "ExternalSecretSpecSecretStoreRefKind",
    "ExternalSecretSpecSyncWindows",
    "ExternalSecretSpecSyncWindowsKind",
    "ExternalSecretSpecSyncWindowsWindows",
    "ExternalSecretSpecTarget",
    "ExternalSecretSpecTargetCreationPolicy",
    "ExternalSecretSpecTargetDeletionPolicy",
    "ExternalSecretSpecTargetManifest",
    "ExternalSecretSpecTargetTemplate",
    "ExternalSecretSpecTargetTemplateEngineVersion",
    "ExternalSecretSpecTargetTemplateMergePolicy",
    "ExternalSecretSpecTargetTemplateMetadata",
    "ExternalSecretSpecTargetTemplateTemplateFrom",
    "ExternalSecretSpecTargetTemplateTemplateFromConfigMap",
    "ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems",
    "ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs",
    "ExternalSecretSpecTargetTemplateTemplateFromSecret",
    "ExternalSecretSpecTargetTemplateTemplateFromSecretItems",
    "ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs",
    "ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy",
    "ExternalSecretV1Beta1",
    "ExternalSecretV1Beta1Props",
    "ExternalSecretV1Beta1Spec",
    "ExternalSecretV1Beta1SpecData",
    "ExternalSecretV1Beta1SpecDataFrom",
    "ExternalSecretV1Beta1SpecDataFromExtract",
    "ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy",
    "ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy",
    "ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy",
    "ExternalSecretV1Beta1SpecDataFromFind",
    "ExternalSecretV1Beta1SpecDataFromFindConversionStrategy",
    "ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy",
    "ExternalSecretV1Beta1SpecDataFromFindName",
    "ExternalSecretV1Beta1SpecDataFromRewrite",
    "ExternalSecretV1Beta1SpecDataFromRewriteRegexp",
    "ExternalSecretV1Beta1SpecDataFromRewriteTransform",
    "ExternalSecretV1Beta1SpecDataFromSourceRef",
    "ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef",
    "ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind",
    "ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef",
    "ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind",
    "ExternalSecretV1Beta1SpecDataRemoteRef",
    "ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy",
    "ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy",
    "ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy",
    "ExternalSecretV1Beta1SpecDataSourceRef",
    "ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef",
    "ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind",
    "ExternalSecretV1Beta1SpecDataSourceRefStoreRef",
    "ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind",
    "ExternalSecretV1Beta1SpecRefreshPolicy",
    "ExternalSecretV1Beta1SpecSecretStoreRef",
    "ExternalSecretV1Beta1SpecSecretStoreRefKind",
    "ExternalSecretV1Beta1SpecTarget",
    "ExternalSecretV1Beta1SpecTargetCreationPolicy",
    "ExternalSecretV1Beta1SpecTargetDeletionPolicy",
    "ExternalSecretV1Beta1SpecTargetTemplate",
    "ExternalSecretV1Beta1SpecTargetTemplateEngineVersion",
    "ExternalSecretV1Beta1SpecTargetTemplateMergePolicy",
    "ExternalSecretV1Beta1SpecTargetTemplateMetadata",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs",
    "ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget",
]

publication.publish()

def _typecheckingstub__8dd63b4b951d1c0f1810393f2ea2739eb3c8df2dbba5c1c17c9369fa23105354(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ClusterSecretStoreSpec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__e52cd74f3e3dc5a6f5e0e0439c1ee7ea1bd2ae23d61a00f1d7d48f492e9adc87(
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ClusterSecretStoreSpec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__57b6b1dbca3a9f2481bd32974c96162d85bfa5e7fd9e1324c70c72f4c047323e(
    *,
    provider: typing.Union[ClusterSecretStoreSpecProvider, typing.Dict[builtins.str, typing.Any]],
    conditions: typing.Optional[typing.Sequence[typing.Union[ClusterSecretStoreSpecConditions, typing.Dict[builtins.str, typing.Any]]]] = None,
    controller: typing.Optional[builtins.str] = None,
    refresh_interval: typing.Optional[ClusterSecretStoreSpecRefreshInterval] = None,
    retry_settings: typing.Optional[typing.Union[ClusterSecretStoreSpecRetrySettings, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__235a3ed3597539d23562330d694072420f7ed77b81205a238ec5e46d02a8cbd8(
    *,
    namespace_regexes: typing.Optional[typing.Sequence[builtins.str]] = None,
    namespaces: typing.Optional[typing.Sequence[builtins.str]] = None,
    namespace_selector: typing.Optional[typing.Union[ClusterSecretStoreSpecConditionsNamespaceSelector, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__a356f991ef23e488a604543e6e29b2de00e3322f1615dcdc4c4cd56ec61b5901(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ClusterSecretStoreSpecConditionsNamespaceSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__d0cf7b6aba7042541ed027a83c2a3602ec694bb8191253c6fb5470aea9cedde0(
    *,
    key: builtins.str,
    operator: builtins.str,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__b577f0ccbbef07f08ad1ab52f92fc2ed139f3591354a8294c647ea76a6470491(
    *,
    aws: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAws, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__0b890d76e5f0d682e477d7b20c0020358b39d98bd01a9432e52c7c4a8ac616f0(
    *,
    region: builtins.str,
    service: ClusterSecretStoreSpecProviderAwsService,
    additional_roles: typing.Optional[typing.Sequence[builtins.str]] = None,
    auth: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuth, typing.Dict[builtins.str, typing.Any]]] = None,
    custom_session_tags: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    external_id: typing.Optional[builtins.str] = None,
    prefix: typing.Optional[builtins.str] = None,
    role: typing.Optional[builtins.str] = None,
    secrets_manager: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsSecretsManager, typing.Dict[builtins.str, typing.Any]]] = None,
    session_tags: typing.Optional[typing.Sequence[typing.Union[ClusterSecretStoreSpecProviderAwsSessionTags, typing.Dict[builtins.str, typing.Any]]]] = None,
    session_tags_policy: typing.Optional[ClusterSecretStoreSpecProviderAwsSessionTagsPolicy] = None,
    transitive_tag_keys: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__a6dd72e093e44f4d176c7ac71615a880705b99b630555e7ce1e4ea69742c5efb(
    *,
    jwt: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuthJwt, typing.Dict[builtins.str, typing.Any]]] = None,
    secret_ref: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuthSecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__e7d772d91778f286ba674c40734f79974636800252dcb80ba3aedb4417ec64cb(
    *,
    service_account_ref: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuthJwtServiceAccountRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__de10cf2ddb938d6fc92b26c35d489e4b0afd1f528224b33c4acedc8f7b7c55d4(
    *,
    name: builtins.str,
    audiences: typing.Optional[typing.Sequence[builtins.str]] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__382d054259503c641b10cacac05db506fe361c058f5e49c99de7f0f9505e7137(
    *,
    access_key_id_secret_ref: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuthSecretRefAccessKeyIdSecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
    secret_access_key_secret_ref: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuthSecretRefSecretAccessKeySecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
    session_token_secret_ref: typing.Optional[typing.Union[ClusterSecretStoreSpecProviderAwsAuthSecretRefSessionTokenSecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6651cda229033cd18398fe288cd6b6e8a7837eb3b8dcacc21b46f1303f7ab9fb(
    *,
    key: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__14d2105b0a56fd40c4ef74beca49699465299985a43951d9b6c98760df53d36d(
    *,
    key: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__dd4fbc427e7378b255c8ebb41e9d546cd208553dfd074c98d857ec7fb06ac865(
    *,
    key: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__e2deea303d686e925fd79c2e63a1bac8cccf9105919d543ea3637e8cdaa2a460(
    *,
    force_delete_without_recovery: typing.Optional[builtins.bool] = None,
    recovery_window_in_days: typing.Optional[jsii.Number] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__8cad6cbff211dfde1ae9537e607df562fe4baba68b3cc8f4f46bfccfe19ff772(
    *,
    key: builtins.str,
    value: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__e2a1463c962c4204e5b350a510d8eb2e695fa2d896f77cd1d8e40a3d9a43db74(
    value: jsii.Number,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7175095281f4fb2b01029b40999e09cf63207ffea252ada69d42873e80a5a5ba(
    value: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__e47d412c07158576d9f7496f0a0011a69595d8febfe76d46ed415887b59df8a3(
    *,
    max_retries: typing.Optional[jsii.Number] = None,
    retry_interval: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__8dc69ba83ec04594930db7e5543a7852c705a1ef67b59aa2efb6d2f5fad31ca0(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1Spec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__37dcaec4116fd103182a4f47c276c1a112b670414846040cdef450a01c9e5a73(
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1Spec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__96137c80a93e24eeba29fafca095a8203971811207350934aeba8d7893de9dc3(
    *,
    provider: typing.Union[ClusterSecretStoreV1Beta1SpecProvider, typing.Dict[builtins.str, typing.Any]],
    conditions: typing.Optional[typing.Sequence[typing.Union[ClusterSecretStoreV1Beta1SpecConditions, typing.Dict[builtins.str, typing.Any]]]] = None,
    controller: typing.Optional[builtins.str] = None,
    refresh_interval: typing.Optional[jsii.Number] = None,
    retry_settings: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecRetrySettings, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7a0202bb2fa72e90fc4694fed122e588c991e624b62e6209c28dc3a91ec50c85(
    *,
    namespace_regexes: typing.Optional[typing.Sequence[builtins.str]] = None,
    namespaces: typing.Optional[typing.Sequence[builtins.str]] = None,
    namespace_selector: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelector, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__60d6e4eff1efa2b67d55a0694a4bc3737bb79c33a7e3ef1e953aded7c9e48b6a(
    *,
    match_expressions: typing.Optional[typing.Sequence[typing.Union[ClusterSecretStoreV1Beta1SpecConditionsNamespaceSelectorMatchExpressions, typing.Dict[builtins.str, typing.Any]]]] = None,
    match_labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__2f6837a7309a755123acc2e7f78d1774390ea2fa5b1b52a1281d7fe46f9b6fa9(
    *,
    key: builtins.str,
    operator: builtins.str,
    values: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__68ba9e9c4c46e5f6c6fca915ad8c80109c0ed4a1cdb61ca84e474072d126bde6(
    *,
    aws: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAws, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6627988073d9ff383a854cf295ddb2aa2cfe69af584935d6041de0fd6369c2f2(
    *,
    region: builtins.str,
    service: ClusterSecretStoreV1Beta1SpecProviderAwsService,
    additional_roles: typing.Optional[typing.Sequence[builtins.str]] = None,
    auth: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuth, typing.Dict[builtins.str, typing.Any]]] = None,
    external_id: typing.Optional[builtins.str] = None,
    prefix: typing.Optional[builtins.str] = None,
    role: typing.Optional[builtins.str] = None,
    secrets_manager: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsSecretsManager, typing.Dict[builtins.str, typing.Any]]] = None,
    session_tags: typing.Optional[typing.Sequence[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsSessionTags, typing.Dict[builtins.str, typing.Any]]]] = None,
    transitive_tag_keys: typing.Optional[typing.Sequence[builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__9edc5295784c46ee0e2ea751f45dd384e14e357e55ab66dbd253a053803e6150(
    *,
    jwt: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwt, typing.Dict[builtins.str, typing.Any]]] = None,
    secret_ref: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__9184e71a5ae0b63160a31c441f3e767c7e9fe4ccdeb7eb6d0313b1e446630e7c(
    *,
    service_account_ref: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuthJwtServiceAccountRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__870111368203389e739228502d0d717a15cc9b15fa8225662b2e8b801afa6d57(
    *,
    name: builtins.str,
    audiences: typing.Optional[typing.Sequence[builtins.str]] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__e52b02bc80a06882a9b54890d7cfecec33b6ea34945389922ff0d8635877f5c5(
    *,
    access_key_id_secret_ref: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefAccessKeyIdSecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
    secret_access_key_secret_ref: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSecretAccessKeySecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
    session_token_secret_ref: typing.Optional[typing.Union[ClusterSecretStoreV1Beta1SpecProviderAwsAuthSecretRefSessionTokenSecretRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__3ce640ed09fb68e1ec7ffae5b6f1bdeeb3b0254c8fe3a3a1ca738807848e9bef(
    *,
    key: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__594f5480cf09e605b57bbf933433bc689ecce1570797dbdf19a46e8f5ddf16c1(
    *,
    key: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__3912a4e98840489edf6e5dfa8970de8ea9724ef8f4ceffd39602443613a6428e(
    *,
    key: typing.Optional[builtins.str] = None,
    name: typing.Optional[builtins.str] = None,
    namespace: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__48c5a27c67d8d807c1dae77d0c9163e10b98d1c6749b78b57aafbce00783830e(
    *,
    force_delete_without_recovery: typing.Optional[builtins.bool] = None,
    recovery_window_in_days: typing.Optional[jsii.Number] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__ca4d5f8d4561743bd341a8ef02e3fe43606734481120c4be650df99a50ee88ad(
    *,
    key: builtins.str,
    value: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6cfd20d24fce68320069ccd4f9b78ce19df25d0bfb6d04f99d46f3caf0d6c97e(
    *,
    max_retries: typing.Optional[jsii.Number] = None,
    retry_interval: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__8c3b70f22c7723f819f402a6957ab71e8991db57a58ba85047be7a2faaad81e0(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ExternalSecretSpec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__37e904970e3dbc8f880d53222da8b9d6ad0e642ffbccba70fe72cb9cdfbe3289(
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ExternalSecretSpec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__074b53f8506e2f7772a36a26ed9736680e0342754c5f0ccf2218c6fef874937d(
    *,
    data: typing.Optional[typing.Sequence[typing.Union[ExternalSecretSpecData, typing.Dict[builtins.str, typing.Any]]]] = None,
    data_from: typing.Optional[typing.Sequence[typing.Union[ExternalSecretSpecDataFrom, typing.Dict[builtins.str, typing.Any]]]] = None,
    refresh_interval: typing.Optional[builtins.str] = None,
    refresh_policy: typing.Optional[ExternalSecretSpecRefreshPolicy] = None,
    secret_store_ref: typing.Optional[typing.Union[ExternalSecretSpecSecretStoreRef, typing.Dict[builtins.str, typing.Any]]] = None,
    sync_windows: typing.Optional[typing.Union[ExternalSecretSpecSyncWindows, typing.Dict[builtins.str, typing.Any]]] = None,
    target: typing.Optional[typing.Union[ExternalSecretSpecTarget, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__475d807ac9fbc706d9ba6234ed898b602897f6af687b51a5cfabc7a77de0d4ce(
    *,
    remote_ref: typing.Union[ExternalSecretSpecDataRemoteRef, typing.Dict[builtins.str, typing.Any]],
    secret_key: builtins.str,
    source_ref: typing.Optional[typing.Union[ExternalSecretSpecDataSourceRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__5652c1cf0894311801be60a13dd81647750db80e32bc8f49fe3e8235021c6c91(
    *,
    extract: typing.Optional[typing.Union[ExternalSecretSpecDataFromExtract, typing.Dict[builtins.str, typing.Any]]] = None,
    find: typing.Optional[typing.Union[ExternalSecretSpecDataFromFind, typing.Dict[builtins.str, typing.Any]]] = None,
    rewrite: typing.Optional[typing.Sequence[typing.Union[ExternalSecretSpecDataFromRewrite, typing.Dict[builtins.str, typing.Any]]]] = None,
    source_ref: typing.Optional[typing.Union[ExternalSecretSpecDataFromSourceRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__f1a826e166202abd8ad5a07dc322befd6750a4902692ec4d9ff881dbadc8d102(
    *,
    key: builtins.str,
    conversion_strategy: typing.Optional[ExternalSecretSpecDataFromExtractConversionStrategy] = None,
    decoding_strategy: typing.Optional[ExternalSecretSpecDataFromExtractDecodingStrategy] = None,
    metadata_policy: typing.Optional[ExternalSecretSpecDataFromExtractMetadataPolicy] = None,
    null_byte_policy: typing.Optional[ExternalSecretSpecDataFromExtractNullBytePolicy] = None,
    property: typing.Optional[builtins.str] = None,
    version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__d8edc5b5404aea834ef81913f06d491df720ba9c52cc127400dacf95267b6e0c(
    *,
    conversion_strategy: typing.Optional[ExternalSecretSpecDataFromFindConversionStrategy] = None,
    decoding_strategy: typing.Optional[ExternalSecretSpecDataFromFindDecodingStrategy] = None,
    name: typing.Optional[typing.Union[ExternalSecretSpecDataFromFindName, typing.Dict[builtins.str, typing.Any]]] = None,
    null_byte_policy: typing.Optional[ExternalSecretSpecDataFromFindNullBytePolicy] = None,
    path: typing.Optional[builtins.str] = None,
    tags: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__2e51f0ba94048fcba1af9bf78d0b379efd9e574853c52555f3c81052e7a44e0d(
    *,
    regexp: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__34a7ea8664e4d3b6a1f3e0ff5e2df2f0dac77ecad4d9e29405fde21c45dcf3f4(
    *,
    merge: typing.Optional[typing.Union[ExternalSecretSpecDataFromRewriteMerge, typing.Dict[builtins.str, typing.Any]]] = None,
    regexp: typing.Optional[typing.Union[ExternalSecretSpecDataFromRewriteRegexp, typing.Dict[builtins.str, typing.Any]]] = None,
    transform: typing.Optional[typing.Union[ExternalSecretSpecDataFromRewriteTransform, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__d20754036ee89fd6b0bcd20b5875dee410e09b933e08e4664815ce85715431df(
    *,
    conflict_policy: typing.Optional[ExternalSecretSpecDataFromRewriteMergeConflictPolicy] = None,
    into: typing.Optional[builtins.str] = None,
    priority: typing.Optional[typing.Sequence[builtins.str]] = None,
    priority_policy: typing.Optional[ExternalSecretSpecDataFromRewriteMergePriorityPolicy] = None,
    strategy: typing.Optional[ExternalSecretSpecDataFromRewriteMergeStrategy] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__07bb68a64c1898dfd9e6d9598ac03e0577691ae09139179a55d7a71e87a2a001(
    *,
    source: builtins.str,
    target: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__ea77cb2fa93be64a812dd1b6f1c4d5a3c14a8077b583881a578654ce0f1efbe9(
    *,
    template: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6bdacd781fe4a8fdd7dba12242f261be35b0741dfecfc6cad806edac31244739(
    *,
    generator_ref: typing.Optional[typing.Union[ExternalSecretSpecDataFromSourceRefGeneratorRef, typing.Dict[builtins.str, typing.Any]]] = None,
    store_ref: typing.Optional[typing.Union[ExternalSecretSpecDataFromSourceRefStoreRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__5de20fbeaa188a66ea77f30598485617164e180abadf40ceea35c89fcb3a3de0(
    *,
    kind: ExternalSecretSpecDataFromSourceRefGeneratorRefKind,
    name: builtins.str,
    api_version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__3d42eeaaa91f59431f0eccdb8fa40fd12da13f9e7dd734564ff4c548604fd749(
    *,
    kind: typing.Optional[ExternalSecretSpecDataFromSourceRefStoreRefKind] = None,
    name: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__8fa135eb71c3b0e514a59fb4221d3694ecf54b320c828591b0435c574fdfb02c(
    *,
    key: builtins.str,
    conversion_strategy: typing.Optional[ExternalSecretSpecDataRemoteRefConversionStrategy] = None,
    decoding_strategy: typing.Optional[ExternalSecretSpecDataRemoteRefDecodingStrategy] = None,
    metadata_policy: typing.Optional[ExternalSecretSpecDataRemoteRefMetadataPolicy] = None,
    null_byte_policy: typing.Optional[ExternalSecretSpecDataRemoteRefNullBytePolicy] = None,
    property: typing.Optional[builtins.str] = None,
    version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7be84602ab6a48aa2f02f1f2788d8e8c0f04bbaeb305a58dc5aa9893b3b36afd(
    *,
    generator_ref: typing.Optional[typing.Union[ExternalSecretSpecDataSourceRefGeneratorRef, typing.Dict[builtins.str, typing.Any]]] = None,
    store_ref: typing.Optional[typing.Union[ExternalSecretSpecDataSourceRefStoreRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__b555942e78a0d71b49c937e2b35f2d46f77dcb9c587f0bf0826b60ba87744e15(
    *,
    kind: ExternalSecretSpecDataSourceRefGeneratorRefKind,
    name: builtins.str,
    api_version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__dabc81d7c49ec321cf533cf9fc3ff20618ebb29f3711a3be2ce659f592a9b743(
    *,
    kind: typing.Optional[ExternalSecretSpecDataSourceRefStoreRefKind] = None,
    name: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6387a5fae9528a5204090c40d2c2889305f5e0931cd3c9f56f16b857a47f6aab(
    *,
    kind: typing.Optional[ExternalSecretSpecSecretStoreRefKind] = None,
    name: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__641ba6dad04362af5e55bcf31fb7e2d331e5c55078b1e5a7f389f1be4e8a4068(
    *,
    kind: ExternalSecretSpecSyncWindowsKind,
    windows: typing.Sequence[typing.Union[ExternalSecretSpecSyncWindowsWindows, typing.Dict[builtins.str, typing.Any]]],
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__ba080faada01ec11a3d50bde37c100a2858953b9b8de74b904326393115c9575(
    *,
    duration: builtins.str,
    schedule: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__827bc50a1daa2c072beabe447d39f5aa425b2533370b434284005378aa9a35c4(
    *,
    creation_policy: typing.Optional[ExternalSecretSpecTargetCreationPolicy] = None,
    deletion_policy: typing.Optional[ExternalSecretSpecTargetDeletionPolicy] = None,
    immutable: typing.Optional[builtins.bool] = None,
    manifest: typing.Optional[typing.Union[ExternalSecretSpecTargetManifest, typing.Dict[builtins.str, typing.Any]]] = None,
    name: typing.Optional[builtins.str] = None,
    template: typing.Optional[typing.Union[ExternalSecretSpecTargetTemplate, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__1f1537c634fadc74d0ebff0dadab1c87af05e2ac7c9474483010bc3e9016fb08(
    *,
    api_version: builtins.str,
    kind: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__8a97a9d748a88e76340582885a47a889666e169b36bf601e948fa8fbaf8eacb8(
    *,
    data: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    engine_version: typing.Optional[ExternalSecretSpecTargetTemplateEngineVersion] = None,
    merge_policy: typing.Optional[ExternalSecretSpecTargetTemplateMergePolicy] = None,
    metadata: typing.Optional[typing.Union[ExternalSecretSpecTargetTemplateMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    template_from: typing.Optional[typing.Sequence[typing.Union[ExternalSecretSpecTargetTemplateTemplateFrom, typing.Dict[builtins.str, typing.Any]]]] = None,
    type: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__fd5588a79e0c2ae668496ad557535214d7832b67410c55764b5ebcb0df34aa6e(
    *,
    annotations: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    finalizers: typing.Optional[typing.Sequence[builtins.str]] = None,
    labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__31faa86a5c98b99d6ee0e61c7febcb6d057f4f2d66a77088ff59e58fd22c0e21(
    *,
    config_map: typing.Optional[typing.Union[ExternalSecretSpecTargetTemplateTemplateFromConfigMap, typing.Dict[builtins.str, typing.Any]]] = None,
    literal: typing.Optional[builtins.str] = None,
    secret: typing.Optional[typing.Union[ExternalSecretSpecTargetTemplateTemplateFromSecret, typing.Dict[builtins.str, typing.Any]]] = None,
    target: typing.Optional[builtins.str] = None,
    values_decoding_strategy: typing.Optional[ExternalSecretSpecTargetTemplateTemplateFromValuesDecodingStrategy] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__02bb153304316c1d27d8cc2666b4bffdf0b5ee46f914eb90f501ff4d279aff79(
    *,
    items: typing.Sequence[typing.Union[ExternalSecretSpecTargetTemplateTemplateFromConfigMapItems, typing.Dict[builtins.str, typing.Any]]],
    name: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__183828d27464f0cb7be30c7fcfa871d537b68ad5d70c9895876220619c3ee123(
    *,
    key: builtins.str,
    template_as: typing.Optional[ExternalSecretSpecTargetTemplateTemplateFromConfigMapItemsTemplateAs] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__a0091308b64027190e4220f919c8b9fe8606081a83a7cac89b8d6f66850f27d9(
    *,
    items: typing.Sequence[typing.Union[ExternalSecretSpecTargetTemplateTemplateFromSecretItems, typing.Dict[builtins.str, typing.Any]]],
    name: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__dd62afc90b918a7a93df148a8f114e0416daaaa6276fbdd86d8d0b7a8b3a5886(
    *,
    key: builtins.str,
    template_as: typing.Optional[ExternalSecretSpecTargetTemplateTemplateFromSecretItemsTemplateAs] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__cfd09e377328d190f8f7b77670ab85f29c4518dcbb58d06f05a9a27a25809189(
    scope: _constructs_77d1e7e8.Construct,
    id: builtins.str,
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ExternalSecretV1Beta1Spec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__461761ed0edddc73d403b793c8ed04d0bc0a2534dd95e8eae4158f95cf880b21(
    *,
    metadata: typing.Optional[typing.Union[_cdk8s_d3d9af27.ApiObjectMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    spec: typing.Optional[typing.Union[ExternalSecretV1Beta1Spec, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__93f730c43130f4e637999febc8307761ffd7173d07e0fb0252beb9d33999daae(
    *,
    data: typing.Optional[typing.Sequence[typing.Union[ExternalSecretV1Beta1SpecData, typing.Dict[builtins.str, typing.Any]]]] = None,
    data_from: typing.Optional[typing.Sequence[typing.Union[ExternalSecretV1Beta1SpecDataFrom, typing.Dict[builtins.str, typing.Any]]]] = None,
    refresh_interval: typing.Optional[builtins.str] = None,
    refresh_policy: typing.Optional[ExternalSecretV1Beta1SpecRefreshPolicy] = None,
    secret_store_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecSecretStoreRef, typing.Dict[builtins.str, typing.Any]]] = None,
    target: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecTarget, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__57cac15896a1d924720292c54c0d0f922c9daf2aa81f875475449aef38e0e295(
    *,
    remote_ref: typing.Union[ExternalSecretV1Beta1SpecDataRemoteRef, typing.Dict[builtins.str, typing.Any]],
    secret_key: builtins.str,
    source_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataSourceRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7a22f4fe792b72c3eaf030666d89e08718509ca8d74cccad99560062b6eeb559(
    *,
    extract: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromExtract, typing.Dict[builtins.str, typing.Any]]] = None,
    find: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromFind, typing.Dict[builtins.str, typing.Any]]] = None,
    rewrite: typing.Optional[typing.Sequence[typing.Union[ExternalSecretV1Beta1SpecDataFromRewrite, typing.Dict[builtins.str, typing.Any]]]] = None,
    source_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromSourceRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__4470abe995b704cbdcdf0492e1e91e23a97f5bd83a22269ccf3af13015136970(
    *,
    key: builtins.str,
    conversion_strategy: typing.Optional[ExternalSecretV1Beta1SpecDataFromExtractConversionStrategy] = None,
    decoding_strategy: typing.Optional[ExternalSecretV1Beta1SpecDataFromExtractDecodingStrategy] = None,
    metadata_policy: typing.Optional[ExternalSecretV1Beta1SpecDataFromExtractMetadataPolicy] = None,
    property: typing.Optional[builtins.str] = None,
    version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__22b4b957dbb9cd8460e4e930700a48d34f638298827b6fe53d68d1b82de6f401(
    *,
    conversion_strategy: typing.Optional[ExternalSecretV1Beta1SpecDataFromFindConversionStrategy] = None,
    decoding_strategy: typing.Optional[ExternalSecretV1Beta1SpecDataFromFindDecodingStrategy] = None,
    name: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromFindName, typing.Dict[builtins.str, typing.Any]]] = None,
    path: typing.Optional[builtins.str] = None,
    tags: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__6f615a184713f5d364337da92283293111522fd42282ad325a8afbd2d1962916(
    *,
    regexp: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__454681f1cc3a392e81ef5c92bfa786dde1e38e7aaa5f2a3ed665e0b4cb009c13(
    *,
    regexp: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromRewriteRegexp, typing.Dict[builtins.str, typing.Any]]] = None,
    transform: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromRewriteTransform, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__22d63d6e820ab00e4df04c49344342bd4731978ef6611c06c5ac4b5332794e7c(
    *,
    source: builtins.str,
    target: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__d47b0f8c8a5dc70763b8dc023f9180f55c381aaf0b4f19237eb10dcd1ac06128(
    *,
    template: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__1e31764683713a9a8f8bf7cbe8fa64128cb17a25250a39a9dce43346a98e28ed(
    *,
    generator_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRef, typing.Dict[builtins.str, typing.Any]]] = None,
    store_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataFromSourceRefStoreRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__a25657d5911002a9ed43593a36ebeae2b366d18947f1a909c37401825186ff0e(
    *,
    kind: ExternalSecretV1Beta1SpecDataFromSourceRefGeneratorRefKind,
    name: builtins.str,
    api_version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__313a803335f1a3dcc9bd5c2b02ad7bab54c82cffdedec119f8d273c3ca941610(
    *,
    kind: typing.Optional[ExternalSecretV1Beta1SpecDataFromSourceRefStoreRefKind] = None,
    name: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__823faeef50b2c0df69c9ae99b8ab132511378b031b5042afba0c9fe24ba93dd4(
    *,
    key: builtins.str,
    conversion_strategy: typing.Optional[ExternalSecretV1Beta1SpecDataRemoteRefConversionStrategy] = None,
    decoding_strategy: typing.Optional[ExternalSecretV1Beta1SpecDataRemoteRefDecodingStrategy] = None,
    metadata_policy: typing.Optional[ExternalSecretV1Beta1SpecDataRemoteRefMetadataPolicy] = None,
    property: typing.Optional[builtins.str] = None,
    version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__ddbbc6e6e35a17c0e134f27793083186c7768306a73ee6e63372b5181a919122(
    *,
    generator_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataSourceRefGeneratorRef, typing.Dict[builtins.str, typing.Any]]] = None,
    store_ref: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecDataSourceRefStoreRef, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__294137a19635c86246291dbae5ba6d655fd0cc9233328d9348f5622e2d5487eb(
    *,
    kind: ExternalSecretV1Beta1SpecDataSourceRefGeneratorRefKind,
    name: builtins.str,
    api_version: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7ee05ae4a797f40081b7fc7ff7fbe24176ce4f18ec8da215e046951f11bebeca(
    *,
    kind: typing.Optional[ExternalSecretV1Beta1SpecDataSourceRefStoreRefKind] = None,
    name: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__7f1f99a615b28ea8c79a67cd067ee214dfafc7d9ce344d5895cdcba82c5d4337(
    *,
    kind: typing.Optional[ExternalSecretV1Beta1SpecSecretStoreRefKind] = None,
    name: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__137058ee7bb8bbf207a1c6bea2d7edc847fcb8e66808b8a474d9e3f6cf606abd(
    *,
    creation_policy: typing.Optional[ExternalSecretV1Beta1SpecTargetCreationPolicy] = None,
    deletion_policy: typing.Optional[ExternalSecretV1Beta1SpecTargetDeletionPolicy] = None,
    immutable: typing.Optional[builtins.bool] = None,
    name: typing.Optional[builtins.str] = None,
    template: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecTargetTemplate, typing.Dict[builtins.str, typing.Any]]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__0845c9cb8505c291793a6fac848aa5d4340d17ecc2e58386511e13ecba7b0d77(
    *,
    data: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    engine_version: typing.Optional[ExternalSecretV1Beta1SpecTargetTemplateEngineVersion] = None,
    merge_policy: typing.Optional[ExternalSecretV1Beta1SpecTargetTemplateMergePolicy] = None,
    metadata: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecTargetTemplateMetadata, typing.Dict[builtins.str, typing.Any]]] = None,
    template_from: typing.Optional[typing.Sequence[typing.Union[ExternalSecretV1Beta1SpecTargetTemplateTemplateFrom, typing.Dict[builtins.str, typing.Any]]]] = None,
    type: typing.Optional[builtins.str] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__018d8922bc23dbcc72288a6bb9df1ee13ec20a354c2863ebe6f5778d0547c2b9(
    *,
    annotations: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
    labels: typing.Optional[typing.Mapping[builtins.str, builtins.str]] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__cf8068a43ca684f4a943d7d5e82ab5f65a31b37cd2681ead194fa54dd950d01d(
    *,
    config_map: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMap, typing.Dict[builtins.str, typing.Any]]] = None,
    literal: typing.Optional[builtins.str] = None,
    secret: typing.Optional[typing.Union[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecret, typing.Dict[builtins.str, typing.Any]]] = None,
    target: typing.Optional[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromTarget] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__5d4521141f13b4bd1ec1e9d03377bb4f8fb99f832992af18de111f17b9698448(
    *,
    items: typing.Sequence[typing.Union[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItems, typing.Dict[builtins.str, typing.Any]]],
    name: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__450b9bfafc5b457a75263d0420c05dfd89276947b601ed2cd9c63bca7bc8c6ed(
    *,
    key: builtins.str,
    template_as: typing.Optional[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromConfigMapItemsTemplateAs] = None,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__a4a2e35d3be01cb8a634eeb73ba90e80dfeb0ffe5653a7d44637ac186ee815e7(
    *,
    items: typing.Sequence[typing.Union[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItems, typing.Dict[builtins.str, typing.Any]]],
    name: builtins.str,
) -> None:
    """Type checking stubs"""
    pass

def _typecheckingstub__2623eb672daf55d319267bd37583020eebefd412a2e3fa6a451b378cf22e9522(
    *,
    key: builtins.str,
    template_as: typing.Optional[ExternalSecretV1Beta1SpecTargetTemplateTemplateFromSecretItemsTemplateAs] = None,
) -> None:
    """Type checking stubs"""
    pass
