{{- define "j9262.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "j9262.fullname" -}}
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

{{- define "j9262.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "j9262.selectorLabels" -}}
app.kubernetes.io/name: {{ include "j9262.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "j9262.labels" -}}
helm.sh/chart: {{ include "j9262.chart" . }}
{{ include "j9262.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "j9262.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "j9262.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* kafka://a:9092;kafka://b:9092 from "a:9092,b:9092" */}}
{{- define "j9262.brokerUrl" -}}
{{- $urls := list }}
{{- range splitList "," .Values.kafka.bootstrapServers }}
{{- $urls = append $urls (printf "kafka://%s" (trim .)) }}
{{- end }}
{{- join ";" $urls }}
{{- end }}

{{- define "j9262.tlsEnabled" -}}
{{- if or (eq .Values.kafka.securityProtocol "SSL") (eq .Values.kafka.securityProtocol "SASL_SSL") }}true{{ end }}
{{- end }}

{{/* SASL_PLAINTEXT or SASL_SSL; the credentials Secret is then required. */}}
{{- define "j9262.saslEnabled" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}
{{- $_ := required "kafka.sasl.existingSecret is required when kafka.securityProtocol is SASL_*" .Values.kafka.sasl.existingSecret }}true
{{- end }}
{{- end }}

{{/* Anything but PLAINTEXT: KEDA's lag reader needs the same security as the workers. */}}
{{- define "j9262.kafkaSecured" -}}
{{- if or (ne .Values.kafka.securityProtocol "PLAINTEXT") .Values.kafka.sasl.existingSecret .Values.kafka.tls.existingSecret }}true{{ end }}
{{- end }}

{{/* The worker pod: shared by the Deployment and the StatefulSet. */}}
{{- define "j9262.podTemplate" -}}
metadata:
  labels:
    {{- include "j9262.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "j9262.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: worker
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["worker"]
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      ports:
        - name: http
          containerPort: 6066
          protocol: TCP
      env:
        - name: J9262_BROKER_URL
          value: {{ include "j9262.brokerUrl" . | quote }}
        - name: J9262_APP_ID
          value: {{ .Values.config.appId | quote }}
        - name: J9262_WEB_HOST
          value: "0.0.0.0"
        - name: J9262_WEB_PORT
          value: "6066"
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: J9262_WEB_URL
          value: "http://$(POD_IP):6066"
        - name: J9262_DATA_DIR
          value: /var/lib/j9262
        - name: J9262_STORE
          value: {{ ternary "rocksdb://" "memory://" .Values.persistence.enabled | quote }}
        - name: J9262_TOPIC_LINES
          value: {{ .Values.config.topics.lines | quote }}
        - name: J9262_TOPIC_VERDICTS
          value: {{ .Values.config.topics.verdicts | quote }}
        - name: J9262_TOPIC_CLAIM_VERDICTS
          value: {{ .Values.config.topics.claimVerdicts | quote }}
        - name: J9262_TOPIC_DEAD_LETTERS
          value: {{ .Values.config.topics.deadLetters | quote }}
        - name: J9262_TOPIC_PARTITIONS
          value: {{ .Values.config.topicPartitions | quote }}
        - name: J9262_TOPIC_REPLICATION_FACTOR
          value: {{ .Values.config.replicationFactor | quote }}
        - name: J9262_PROCESSING_GUARANTEE
          value: {{ .Values.config.processingGuarantee | quote }}
        - name: J9262_REBALANCE_TIMEOUT_S
          value: {{ .Values.config.rebalanceTimeoutSeconds | quote }}
        - name: J9262_SESSION_TIMEOUT_S
          value: {{ .Values.config.sessionTimeoutSeconds | quote }}
        - name: J9262_FETCH_MAX_WAIT_MS
          value: {{ .Values.config.fetchMaxWaitMs | quote }}
        - name: J9262_MAX_MESSAGE_BYTES
          value: {{ .Values.config.maxMessageBytes | quote }}
        - name: J9262_CLAIM_WAIT_S
          value: {{ .Values.config.claimWaitSeconds | quote }}
        - name: J9262_DUPLICATE_WINDOW_DAYS
          value: {{ .Values.config.duplicateWindowDays | quote }}
        - name: J9262_LOG_LEVEL
          value: {{ .Values.config.logLevel | quote }}
        - name: J9262_LOG_FORMAT
          value: {{ .Values.config.logFormat | quote }}
        - name: J9262_SECURITY_PROTOCOL
          value: {{ .Values.kafka.securityProtocol | quote }}
        {{- if or (include "j9262.saslEnabled" .) .Values.kafka.sasl.existingSecret }}
        - name: J9262_SASL_MECHANISM
          value: {{ .Values.kafka.sasl.mechanism | quote }}
        - name: J9262_SASL_USERNAME
          valueFrom:
            secretKeyRef:
              name: {{ .Values.kafka.sasl.existingSecret }}
              key: {{ .Values.kafka.sasl.usernameKey }}
        - name: J9262_SASL_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ .Values.kafka.sasl.existingSecret }}
              key: {{ .Values.kafka.sasl.passwordKey }}
        {{- end }}
        {{- if .Values.kafka.tls.existingSecret }}
        - name: J9262_SSL_CAFILE
          value: /etc/j9262/tls/{{ .Values.kafka.tls.caKey }}
        - name: J9262_SSL_CHECK_HOSTNAME
          value: {{ .Values.kafka.tls.checkHostname | quote }}
        {{- if .Values.kafka.tls.certKey }}
        - name: J9262_SSL_CERTFILE
          value: /etc/j9262/tls/{{ .Values.kafka.tls.certKey }}
        - name: J9262_SSL_KEYFILE
          value: /etc/j9262/tls/{{ .Values.kafka.tls.keyKey }}
        {{- end }}
        {{- end }}
        {{- with .Values.web.token.existingSecret }}
        - name: J9262_WEB_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $.Values.web.token.key }}
        {{- end }}
        {{- if .Values.refdata.files }}
        - name: J9262_REFDATA_DIR
          value: /etc/j9262/refdata
        {{- end }}
        {{- with .Values.config.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 5
        failureThreshold: 24
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 15
        timeoutSeconds: 3
        failureThreshold: 4
      readinessProbe:
        httpGet: {path: /readyz, port: http}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/j9262
        - name: tmp
          mountPath: /tmp
        {{- if .Values.refdata.files }}
        - name: refdata
          mountPath: /etc/j9262/refdata
          readOnly: true
        {{- end }}
        {{- if .Values.kafka.tls.existingSecret }}
        - name: tls
          mountPath: /etc/j9262/tls
          readOnly: true
        {{- end }}
  volumes:
    {{- if not .Values.persistence.enabled }}
    - name: data
      emptyDir: {}
    {{- end }}
    - name: tmp
      emptyDir: {}
    {{- if .Values.refdata.files }}
    - name: refdata
      configMap:
        name: {{ include "j9262.fullname" . }}-refdata
    {{- end }}
    {{- if .Values.kafka.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ .Values.kafka.tls.existingSecret }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
