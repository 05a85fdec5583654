{{/* Names: the release name, or <release>-kubegate when it does not say kubegate. */}}
{{- define "kubegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubegate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kubegate.labels" -}}
{{ include "kubegate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "kubegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubegate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubegate.policyConfigMap" -}}
{{- default (printf "%s-policy" (include "kubegate.fullname" .)) .Values.policy.existingConfigMap }}
{{- end }}

{{- define "kubegate.pkiSecret" -}}
{{- default (printf "%s-pki" (include "kubegate.fullname" .)) .Values.pki.secretName }}
{{- end }}

{{- define "kubegate.tokensSecret" -}}
{{- default (printf "%s-tokens" (include "kubegate.fullname" .)) .Values.pki.tokensSecretName }}
{{- end }}

{{- define "kubegate.postgres" -}}
{{- if eq .Values.store.type "postgres" }}true{{ end }}
{{- end }}

{{/*
Values that cannot work fail the render with what to change, rather than producing a pod that
crash-loops or a kubegate.yaml the config loader refuses.
*/}}
{{- define "kubegate.validate" -}}
{{- $store := .Values.store.type }}
{{- if not (has $store (list "sqlite" "postgres")) }}
{{- fail (printf "store.type must be sqlite or postgres, not %q" $store) }}
{{- end }}
{{- if and (eq $store "sqlite") (ne (int .Values.replicaCount) 1) }}
{{- fail (printf "store.type sqlite runs exactly one replica (its files are on one ReadWriteOnce volume), not replicaCount %d: set replicaCount 1, or store.type postgres for several" (int .Values.replicaCount)) }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount must be 1 or more" }}
{{- end }}
{{- if and (eq $store "postgres") (not .Values.store.postgres.urlSecret.name) }}
{{- fail "store.type postgres needs store.postgres.urlSecret.name: the Secret whose key `url` (store.postgres.urlSecret.urlKey) holds postgres://user:password@host:5432/db (kubectl create secret generic kubegate-db --from-file=url=db-url)" }}
{{- end }}
{{- if and .Values.tls.existingSecret .Values.tls.hosts }}
{{- fail "tls.hosts names the certificate kubegate generates; with tls.existingSecret your certificate names the hosts: leave tls.hosts empty" }}
{{- end }}
{{- if and .Values.tls.clientCAKey (not .Values.tls.existingSecret) }}
{{- fail "tls.clientCAKey names a key of tls.existingSecret, which is not set" }}
{{- end }}
{{- if and .Values.policy.existingConfigMap .Values.policy.inline }}
{{- fail "set policy.existingConfigMap or policy.inline, not both" }}
{{- end }}
{{- if not (has .Values.probes.type (list "tcpSocket" "httpGet")) }}
{{- fail (printf "probes.type must be tcpSocket or httpGet, not %q" .Values.probes.type) }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled (the listener it scrapes)" }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.containerPort)) }}
{{- fail "metrics.port must differ from containerPort (the gateway's port)" }}
{{- end }}
{{- end }}

{{/*
kubegate.yaml (docs/CONFIG.md). Paths are where the pod template mounts things: the data dir at
/var/lib/kubegate, the policy ConfigMap as the folder /etc/kubegate/policy, the URL Secret at
/etc/kubegate/db, the TLS Secret at /etc/kubegate/tls.
*/}}
{{- define "kubegate.config" -}}
{{- $fullname := include "kubegate.fullname" . }}
{{- $c := dict
  "dataDir" "/var/lib/kubegate"
  "listen" (dict "host" "0.0.0.0" "port" (int .Values.containerPort))
  "upstream" (dict "inCluster" true)
  "policy" (dict "file" (printf "/etc/kubegate/policy/%s" .Values.policy.key))
  "log" (dict "level" .Values.log.level)
}}
{{- if include "kubegate.postgres" . }}
{{- $_ := set $c "store" (dict "type" "postgres" "urlFile" (printf "/etc/kubegate/db/%s" .Values.store.postgres.urlSecret.urlKey) "pool" (dict "max" (int .Values.store.postgres.poolMax))) }}
{{- else }}
{{- $_ := set $c "audit" (dict "file" "/var/lib/kubegate/audit.db") }}
{{- end }}
{{- if .Values.tls.existingSecret }}
{{- $tls := dict "certFile" "/etc/kubegate/tls/tls.crt" "keyFile" "/etc/kubegate/tls/tls.key" }}
{{- if .Values.tls.clientCAKey }}
{{- $_ := set $tls "clientCAFile" (printf "/etc/kubegate/tls/%s" .Values.tls.clientCAKey) }}
{{- end }}
{{- $_ := set $c "tls" $tls }}
{{- else }}
{{- $hosts := .Values.tls.hosts | default (list (printf "%s.%s.svc" $fullname .Release.Namespace) (printf "%s.%s.svc.cluster.local" $fullname .Release.Namespace)) }}
{{- $_ := set $c "tls" (dict "hosts" $hosts) }}
{{- end }}
{{- if .Values.identity.oidc }}
{{- $_ := set $c "identity" (dict "oidc" .Values.identity.oidc) }}
{{- end }}
{{- if .Values.notifications.webhooks }}
{{- $_ := set $c "notifications" (dict "webhooks" .Values.notifications.webhooks) }}
{{- end }}
{{- if .Values.publicUrl }}
{{- $_ := set $c "publicUrl" .Values.publicUrl }}
{{- end }}
{{- if .Values.metrics.enabled }}
{{- $_ := set $c "metrics" (dict "listen" (dict "host" "0.0.0.0" "port" (int .Values.metrics.port))) }}
{{- end }}
{{- toYaml (mergeOverwrite $c (deepCopy .Values.config)) }}
{{- end }}

{{/* One probe: tcpSocket on the gateway port, or kubegate's health endpoint over HTTPS. */}}
{{- define "kubegate.probeAction" -}}
{{- if eq .root.Values.probes.type "httpGet" }}
httpGet:
  path: {{ .path }}
  port: https
  scheme: HTTPS
{{- else }}
tcpSocket:
  port: https
{{- end }}
{{- end }}

{{/* The pod template, shared by the StatefulSet (sqlite) and the Deployment (postgres). */}}
{{- define "kubegate.podTemplate" -}}
{{- $postgres := include "kubegate.postgres" . }}
{{- $fullname := include "kubegate.fullname" . }}
metadata:
  labels:
    {{- include "kubegate.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # kubegate reads kubegate.yaml once at start: a changed config rolls the pods.
    checksum/config: {{ include "kubegate.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kubegate.serviceAccountName" . }}
  automountServiceAccountToken: true # kubegate's upstream identity (upstream.inCluster)
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- $pod := deepCopy .Values.podSecurityContext }}
    {{- if and (not $postgres) (not (hasKey $pod "fsGroupChangePolicy")) }}
    {{- /* The volume is kubegate's alone: its ownership needs setting once, not at every start. */}}
    {{- $_ := set $pod "fsGroupChangePolicy" "OnRootMismatch" }}
    {{- end }}
    {{- toYaml $pod | nindent 4 }}
  {{- $spread := gt (int .Values.replicaCount) 1 }}
  {{- if .Values.affinity }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else if $spread }}
  # Replicas on different nodes where possible: losing a node leaves the others serving.
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "kubegate.selectorLabels" . | nindent 16 }}
  {{- end }}
  {{- if .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml .Values.topologySpreadConstraints | nindent 4 }}
  {{- else if $spread }}
  # Across zones and nodes, each rollout's pods on their own (pod-template-hash).
  topologySpreadConstraints:
    {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
    - maxSkew: 1
      topologyKey: {{ . }}
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "kubegate.selectorLabels" $ | nindent 10 }}
      matchLabelKeys: [pod-template-hash]
    {{- end }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: kubegate
      image: {{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: [serve, --config, /etc/kubegate/kubegate.yaml]
      ports:
        - name: https
          containerPort: {{ .Values.containerPort }}
          protocol: TCP
        {{- if .Values.metrics.enabled }}
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
        {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      startupProbe:
        {{- include "kubegate.probeAction" (dict "root" . "path" "/kubegate/readyz") | trim | nindent 8 }}
        {{- toYaml .Values.probes.startup | nindent 8 }}
      readinessProbe:
        {{- include "kubegate.probeAction" (dict "root" . "path" "/kubegate/readyz") | trim | nindent 8 }}
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      livenessProbe:
        {{- include "kubegate.probeAction" (dict "root" . "path" "/kubegate/livez") | trim | nindent 8 }}
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/kubegate
          {{- if $postgres }}
          readOnly: true
        - name: db
          mountPath: /etc/kubegate/db
          readOnly: true
          {{- end }}
        - name: config
          mountPath: /etc/kubegate/kubegate.yaml
          subPath: kubegate.yaml
          readOnly: true
        # A folder, not a subPath: an edited policy reaches the pod and kubegate reloads it.
        - name: policy
          mountPath: /etc/kubegate/policy
          readOnly: true
        # The root filesystem is read-only; /tmp is scratch space for `kubectl exec` commands.
        - name: tmp
          mountPath: /tmp
        {{- if .Values.tls.existingSecret }}
        - name: tls
          mountPath: /etc/kubegate/tls
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    {{- if $postgres }}
    # The data dir: kubegate's CA (and serving certificate) and tokens.json from Secrets, the same
    # in every replica. 288 is 0440: the group fsGroup may read, nobody else.
    - name: data
      projected:
        defaultMode: 288
        sources:
          - secret:
              name: {{ include "kubegate.pkiSecret" . }}
              items:
                - { key: ca.crt, path: pki/ca.crt }
                - { key: ca.key, path: pki/ca.key }
                {{- if not .Values.tls.existingSecret }}
                - { key: server.crt, path: pki/server.crt }
                - { key: server.key, path: pki/server.key }
                {{- end }}
          - secret:
              name: {{ include "kubegate.tokensSecret" . }}
              optional: true
              items:
                - { key: tokens.json, path: tokens.json }
    - name: db
      secret:
        secretName: {{ .Values.store.postgres.urlSecret.name }}
        defaultMode: 288
    {{- end }}
    - name: config
      configMap:
        name: {{ $fullname }}-config
    - name: policy
      configMap:
        name: {{ include "kubegate.policyConfigMap" . }}
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
    {{- if .Values.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.existingSecret }}
        defaultMode: 288
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
