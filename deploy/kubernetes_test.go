package deploy

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// manifestSets are the files applied together: references from one object
// to another (a Secret, a claim, a Service) must resolve within a set,
// unless the set's comments say how to make the object by hand.
var manifestSets = map[string][]string{
	"separate":   {"kubernetes/hanashi.yaml", "kubernetes/secret.example.yaml", "kubernetes/migrate-job.yaml"},
	"all-in-one": {"kubernetes/all-in-one.yaml"},
}

// placeholder is the only thing a Secret in this repository may hold where
// a password goes.
const placeholder = "REPLACE_ME"

// defaultDrain is how long Hanashi takes to drain when
// HANASHI_DRAIN_TIMEOUT is not set (the default of -drain-timeout).
const defaultDrain = 30 * time.Second

func TestManifestSetsCoverEveryFile(t *testing.T) {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, set := range manifestSets {
		listed = append(listed, set...)
	}
	sort.Strings(files)
	sort.Strings(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("kubernetes/*.yaml = %v, but manifestSets lists %v: add new files to a set, so that their references are checked", files, listed)
	}
}

func TestKubernetesManifests(t *testing.T) {
	for name, files := range manifestSets {
		t.Run(name, func(t *testing.T) {
			var set manifestSet
			for _, f := range files {
				data := readFile(t, f)
				objs, err := decodeManifest(f, data)
				if err != nil {
					t.Fatal(err)
				}
				if len(objs) == 0 {
					t.Fatalf("%s holds no object", f)
				}
				set.objs = append(set.objs, objs...)
				set.text += string(data)
			}
			for _, p := range set.check() {
				t.Error(p)
			}
		})
	}
}

// TestChecksFindProblems makes sure the checks above are not vacuous: a
// manifest with the mistakes they look for must be reported for each.
func TestChecksFindProblems(t *testing.T) {
	bad := `
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData:
  HANASHI_DATABASE_URL: postgres://hanashi:hunter2@db/hanashi
  API_TOKEN: abc123
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  HANASHI_REDIS_URL: redis://:sesame@redis:6379/0
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hanashi}
spec:
  replicas: 2
  selector: {matchLabels: {app: hanashi}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers:
        - name: hanashi
          image: hanashi:latest
          env:
            - {name: DB_PASSWORD, value: swordfish}
            - {name: HANASHI_DATABASE_URL, value: "postgres://u:$(NOT_DEFINED)@db/x"}
          envFrom:
            - secretRef: {name: missing}
          securityContext:
            runAsUser: 0
          volumeMounts:
            - {name: nowhere, mountPath: /data/avatars}
---
apiVersion: v1
kind: Service
metadata: {name: hanashi}
spec:
  selector: {app: nobody}
  ports: [{name: http, port: 80, targetPort: http}]
`
	objs, err := decodeManifest("bad.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join((&manifestSet{objs: objs, text: bad}).check(), "\n")
	for _, want := range []string{
		`HANASHI_DATABASE_URL holds a password`,
		`API_TOKEN is not the placeholder`,
		`HANASHI_REDIS_URL holds a password, which belongs in a Secret`,
		`DB_PASSWORD has a literal value`,
		`$(NOT_DEFINED)`,
		`selector does not select its own pod template`,
		`image "hanashi:latest"`,
		`no readinessProbe`,
		`no livenessProbe`,
		`no startupProbe`,
		`no preStop sleep`,
		`no resources.requests.cpu`,
		`runs as root`,
		`allowPrivilegeEscalation`,
		`readOnlyRootFilesystem`,
		`does not drop ALL capabilities`,
		`Secret "missing"`,
		`volume "nowhere"`,
		`HANASHI_NODE`,
		`selects no pod template`,
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("the checks missed %q; they said:\n%s", want, problems)
		}
	}
}

// manifestSet is the objects of the files applied together, and their
// text, whose comments may say how to make an object by hand.
type manifestSet struct {
	objs []object
	text string
}

// workload is an object with a pod template.
type workload struct {
	object
	template    *corev1.PodTemplateSpec
	selector    *metav1.LabelSelector
	replicas    *int32
	claims      []corev1.PersistentVolumeClaim // a StatefulSet's volumeClaimTemplates
	longRunning bool                           // serves, so it needs readiness and liveness probes
}

func (s *manifestSet) workloads() []workload {
	var ws []workload
	for _, o := range s.objs {
		switch v := o.value.(type) {
		case *appsv1.Deployment:
			ws = append(ws, workload{object: o, template: &v.Spec.Template, selector: v.Spec.Selector, replicas: v.Spec.Replicas, longRunning: true})
		case *appsv1.StatefulSet:
			ws = append(ws, workload{object: o, template: &v.Spec.Template, selector: v.Spec.Selector, replicas: v.Spec.Replicas, claims: v.Spec.VolumeClaimTemplates, longRunning: true})
		case *batchv1.Job:
			ws = append(ws, workload{object: o, template: &v.Spec.Template, selector: v.Spec.Selector})
		}
	}
	return ws
}

// find returns the object of the kind and name, or nil.
func (s *manifestSet) find(kind, name string) any {
	for _, o := range s.objs {
		if o.kind == kind && o.name == name {
			return o.value
		}
	}
	return nil
}

// external reports whether the set's comments make the Secret by hand
// (kubectl create secret generic NAME --from-literal=KEY=...); key "" asks
// about the Secret alone.
func (s *manifestSet) external(secret, key string) bool {
	i := strings.Index(s.text, "create secret generic "+secret+" ")
	if i < 0 {
		return false
	}
	if key == "" {
		return true
	}
	rest := s.text[i:]
	if end := strings.Index(rest, "\n#\n"); end >= 0 {
		rest = rest[:end]
	}
	return strings.Contains(rest, "--from-literal="+key+"=")
}

// secretKeys are the keys of a Secret of the set, or nil.
func (s *manifestSet) secretKeys(name string) map[string]bool {
	sec, _ := s.find("Secret", name).(*corev1.Secret)
	if sec == nil {
		return nil
	}
	keys := make(map[string]bool)
	for k := range sec.StringData {
		keys[k] = true
	}
	for k := range sec.Data {
		keys[k] = true
	}
	return keys
}

func (s *manifestSet) configMapData(name string) map[string]string {
	if cm, _ := s.find("ConfigMap", name).(*corev1.ConfigMap); cm != nil {
		return cm.Data
	}
	return nil
}

// hpaFor returns the HorizontalPodAutoscaler that scales the Deployment.
func (s *manifestSet) hpaFor(name string) *autoscalingv2.HorizontalPodAutoscaler {
	for _, o := range s.objs {
		if h, ok := o.value.(*autoscalingv2.HorizontalPodAutoscaler); ok && h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == name {
			return h
		}
	}
	return nil
}

// minReplicas is how many pods a workload runs at least.
func (s *manifestSet) minReplicas(w workload) int32 {
	if h := s.hpaFor(w.name); h != nil && h.Spec.MinReplicas != nil {
		return *h.Spec.MinReplicas
	}
	if w.replicas == nil {
		return 1
	}
	return *w.replicas
}

// check returns every problem of the set, one sentence each.
func (s *manifestSet) check() []string {
	var p []string
	add := func(o object, format string, args ...any) {
		p = append(p, o.String()+": "+fmt.Sprintf(format, args...))
	}
	seen := make(map[string]bool)
	for _, o := range s.objs {
		if key := o.kind + "/" + o.name; seen[key] {
			add(o, "a second %s with this name", o.kind)
		} else {
			seen[key] = true
		}
	}
	for _, w := range s.workloads() {
		s.checkWorkload(w, func(format string, args ...any) { add(w.object, format, args...) })
	}
	for _, o := range s.objs {
		report := func(format string, args ...any) { add(o, format, args...) }
		switch v := o.value.(type) {
		case *corev1.Secret:
			checkSecret(v, report)
		case *corev1.ConfigMap:
			for k, val := range v.Data {
				if looksSecret(k) {
					report("%s looks like a secret, which belongs in a Secret", k)
				}
				if hasPassword(val) {
					report("%s holds a password, which belongs in a Secret", k)
				}
			}
		case *corev1.Service:
			s.checkService(v, report)
		case *networkingv1.Ingress:
			s.checkIngress(v, report)
		case *policyv1.PodDisruptionBudget:
			s.checkPDB(v, report)
		case *autoscalingv2.HorizontalPodAutoscaler:
			s.checkHPA(v, report)
		case *networkingv1.NetworkPolicy:
			if !s.selectsAny(&v.Spec.PodSelector) {
				report("podSelector selects no pod template")
			}
			for _, rule := range v.Spec.Ingress {
				for _, from := range rule.From {
					if from.PodSelector != nil && !s.selectsAny(from.PodSelector) {
						report("a from.podSelector selects no pod template")
					}
				}
			}
		case *corev1.PersistentVolumeClaim:
			if len(v.Spec.AccessModes) == 0 {
				report("no accessModes")
			}
			if v.Spec.Resources.Requests.Storage().IsZero() {
				report("no storage request")
			}
			if !s.claimed(v.Name) {
				report("no pod mounts it")
			}
		}
	}
	return p
}

// selects reports whether a selector picks the labels; an empty selector
// would pick everything, which in these manifests is always a mistake.
func selects(sel *metav1.LabelSelector, lbls map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(lbls))
}

func (s *manifestSet) selectsAny(sel *metav1.LabelSelector) bool {
	for _, w := range s.workloads() {
		if selects(sel, w.template.Labels) {
			return true
		}
	}
	return false
}

func (s *manifestSet) claimed(claim string) bool {
	for _, w := range s.workloads() {
		for _, v := range w.template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
				return true
			}
		}
	}
	return false
}

// isHanashi reports whether a container runs the Hanashi image.
func isHanashi(c *corev1.Container) bool {
	repo := c.Image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo == "hanashi" || strings.HasSuffix(repo, "/hanashi")
}

func (s *manifestSet) checkWorkload(w workload, report func(string, ...any)) {
	pod := &w.template.Spec
	if w.kind != "Job" && !selects(w.selector, w.template.Labels) {
		report("the selector does not select its own pod template")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		report("automountServiceAccountToken is not false: nothing here talks to the Kubernetes API")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		report("enableServiceLinks is not false: a Service named hanashi would put HANASHI_* variables into the environment")
	}
	if w.kind == "Job" && pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		report("a Job's restartPolicy must be Never or OnFailure")
	}
	if w.kind == "StatefulSet" {
		sts := s.find("StatefulSet", w.name).(*appsv1.StatefulSet)
		svc, _ := s.find("Service", sts.Spec.ServiceName).(*corev1.Service)
		if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
			report("serviceName %q is not a headless Service of the set", sts.Spec.ServiceName)
		}
		if len(w.claims) == 0 {
			report("no volumeClaimTemplates: its data would not outlive the pod")
		}
	}
	volumes := make(map[string]corev1.Volume)
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if c := v.PersistentVolumeClaim; c != nil && s.find("PersistentVolumeClaim", c.ClaimName) == nil {
			report("volume %q: PersistentVolumeClaim %q is not in the set", v.Name, c.ClaimName)
		}
	}
	for _, c := range w.claims {
		volumes[c.Name] = corev1.Volume{Name: c.Name}
	}
	containers := append(slices.Clone(pod.InitContainers), pod.Containers...)
	if len(pod.Containers) == 0 {
		report("no containers")
	}
	for i := range containers {
		c := &containers[i]
		creport := func(format string, args ...any) { report("container %q: "+format, append([]any{c.Name}, args...)...) }
		s.checkContainer(w, c, volumes, creport)
		if isHanashi(c) {
			s.checkHanashi(w, c, volumes, creport)
		}
	}
}

func (s *manifestSet) checkContainer(w workload, c *corev1.Container, volumes map[string]corev1.Volume, report func(string, ...any)) {
	pod := &w.template.Spec
	// The image names a version, and says when to pull it.
	if i := strings.LastIndex(c.Image, ":"); i < 0 || i < strings.LastIndex(c.Image, "/") || strings.HasSuffix(c.Image, ":latest") {
		report("image %q names no version (a tag other than latest)", c.Image)
	}
	if c.ImagePullPolicy == "" {
		report("no imagePullPolicy")
	}

	// Resources: requests to schedule by, limits to stop a runaway.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, ok := c.Resources.Requests[r]
		if !ok || req.IsZero() {
			report("no resources.requests.%s", r)
		}
		lim, ok := c.Resources.Limits[r]
		if !ok || lim.IsZero() {
			report("no resources.limits.%s", r)
		}
		if !req.IsZero() && !lim.IsZero() && req.Cmp(lim) > 0 {
			report("resources.requests.%s %s is above the limit %s", r, req.String(), lim.String())
		}
	}

	// Security: not root, no way to become root, no capabilities, a
	// read-only root and the runtime's seccomp profile.
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	nonRoot := psc.RunAsNonRoot
	if sc.RunAsNonRoot != nil {
		nonRoot = sc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		report("runAsNonRoot is not true")
	}
	user := psc.RunAsUser
	if sc.RunAsUser != nil {
		user = sc.RunAsUser
	}
	if user != nil && *user == 0 {
		report("runs as root (runAsUser 0)")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		report("allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		report("readOnlyRootFilesystem is not true")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		report("does not drop ALL capabilities")
	} else if len(sc.Capabilities.Add) > 0 {
		report("adds capabilities %v", sc.Capabilities.Add)
	}
	seccomp := psc.SeccompProfile
	if sc.SeccompProfile != nil {
		seccomp = sc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		report("seccompProfile is not RuntimeDefault")
	}

	// Probes, for what serves; their named ports exist.
	if w.longRunning {
		if c.ReadinessProbe == nil {
			report("no readinessProbe")
		}
		if c.LivenessProbe == nil {
			report("no livenessProbe")
		}
	}
	for name, probe := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe, "startupProbe": c.StartupProbe} {
		if probe == nil {
			continue
		}
		var port *intstr.IntOrString
		switch {
		case probe.HTTPGet != nil:
			port = &probe.HTTPGet.Port
		case probe.TCPSocket != nil:
			port = &probe.TCPSocket.Port
		case probe.Exec != nil:
			if len(probe.Exec.Command) == 0 {
				report("%s runs no command", name)
			}
		default:
			report("%s has no handler", name)
		}
		if port != nil && !hasPort([]corev1.Container{*c}, *port) {
			report("%s: port %s is not one of the container's", name, port.String())
		}
	}

	// Volumes mounted exist.
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			report("mounts volume %q, which the pod does not have", m.Name)
		}
	}

	// Environment: references resolve; no secret in plain sight.
	defined := make(map[string]bool)
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			data := s.configMapData(ef.ConfigMapRef.Name)
			if data == nil {
				report("envFrom ConfigMap %q is not in the set", ef.ConfigMapRef.Name)
			}
			for k := range data {
				defined[k] = true
			}
		case ef.SecretRef != nil:
			keys := s.secretKeys(ef.SecretRef.Name)
			if keys == nil && !s.external(ef.SecretRef.Name, "") {
				report("envFrom Secret %q is not in the set, and no comment makes it", ef.SecretRef.Name)
			}
			for k := range keys {
				defined[k] = true
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			if looksSecret(e.Name) {
				report("%s has a literal value: take it from a Secret", e.Name)
			}
			if hasPassword(e.Value) && !passwordIsReference(e.Value) {
				report("%s holds a password in plain sight: take it from a Secret and write $(VAR) in its place", e.Name)
			}
			for _, ref := range varRefs(e.Value) {
				if !defined[ref] {
					report("%s refers to $(%s), which is not defined before it, so the kubelet would leave it as it is", e.Name, ref)
				}
			}
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			keys := s.secretKeys(ref.Name)
			optional := ref.Optional != nil && *ref.Optional
			switch {
			case keys != nil && !keys[ref.Key] && !optional:
				report("%s: Secret %q has no key %q", e.Name, ref.Name, ref.Key)
			case keys == nil && !s.external(ref.Name, ""):
				report("%s: Secret %q is not in the set, and no comment makes it", e.Name, ref.Name)
			case keys == nil && !optional && !s.external(ref.Name, ref.Key):
				report("%s: the comment that makes Secret %q gives no %s", e.Name, ref.Name, ref.Key)
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if _, ok := s.configMapData(ref.Name)[ref.Key]; !ok {
				report("%s: ConfigMap %q has no key %q", e.Name, ref.Name, ref.Key)
			}
		}
		defined[e.Name] = true
	}
	for _, arg := range append(slices.Clone(c.Command), c.Args...) {
		for _, ref := range varRefs(arg) {
			if !defined[ref] {
				report("argument %q refers to $(%s), which is not in the environment", arg, ref)
			}
		}
	}
}

// checkHanashi checks what a Hanashi container needs beyond any container.
func (s *manifestSet) checkHanashi(w workload, c *corev1.Container, volumes map[string]corev1.Volume, report func(string, ...any)) {
	pod := &w.template.Spec
	env := s.environment(c)
	if e := findEnv(c, "HANASHI_NODE"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		report("HANASHI_NODE does not come from the pod's name (fieldRef metadata.name)")
	}
	if w.kind == "Job" {
		if len(c.Args) == 0 || c.Args[0] != "migrate" {
			report("a Hanashi Job that is not `hanashi migrate`: %q", c.Args)
		}
		if !env["HANASHI_DATABASE_URL"] {
			report("migrates without HANASHI_DATABASE_URL: that would be a SQLite file in the pod")
		}
		return
	}

	// Probes on the endpoints made for them.
	checkHTTPProbe := func(name string, p *corev1.Probe, path string) {
		switch {
		case p == nil:
			report("no %s", name)
		case p.HTTPGet == nil || p.HTTPGet.Path != path:
			report("%s is not GET %s", name, path)
		}
	}
	checkHTTPProbe("readinessProbe", c.ReadinessProbe, "/readyz")
	checkHTTPProbe("livenessProbe", c.LivenessProbe, "/healthz")
	checkHTTPProbe("startupProbe", c.StartupProbe, "/healthz")
	if !hasPort([]corev1.Container{*c}, intstr.FromInt32(8080)) {
		report("no containerPort 8080, where the image listens")
	}

	// The drain: the preStop sleep, then SIGTERM and up to
	// HANASHI_DRAIN_TIMEOUT, all within the grace period.
	var sleep int64
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		report("no preStop sleep: load balancers would still send clients while the node drains")
	} else {
		sleep = c.Lifecycle.PreStop.Sleep.Seconds
	}
	drain := defaultDrain
	if v := s.envValue(c, "HANASHI_DRAIN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			report("HANASHI_DRAIN_TIMEOUT %q: %v", v, err)
		}
		drain = d
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	if need := sleep + int64(drain.Seconds()) + 5; grace < need {
		report("terminationGracePeriodSeconds %d is shorter than the preStop sleep (%ds), the drain (%v) and 5 s of slack", grace, sleep, drain)
	}

	// Several replicas: a shared store, a broker, and shared avatars.
	if s.minReplicas(w) < 2 && s.hpaFor(w.name) == nil {
		report("runs %d replica; a node going away should leave another for its clients", s.minReplicas(w))
	}
	for _, name := range []string{"HANASHI_DATABASE_URL", "HANASHI_REDIS_URL"} {
		if !env[name] {
			report("%s is not set, and several replicas need it", name)
		}
	}
	mounts := make(map[string]string)
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	if name, ok := mounts["/data/avatars"]; !ok {
		report("nothing mounted on /data/avatars: uploaded avatars must be shared between replicas")
	} else if v := volumes[name]; v.PersistentVolumeClaim == nil {
		report("/data/avatars is volume %q, not a PersistentVolumeClaim", name)
	} else if pvc, _ := s.find("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName).(*corev1.PersistentVolumeClaim); pvc != nil && !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		report("/data/avatars is claim %q, which is not ReadWriteMany: the replicas would not share it", pvc.Name)
	}
	if name, ok := mounts["/tmp"]; !ok || volumes[name].EmptyDir == nil {
		report("no emptyDir on /tmp: the root file system is read-only and uploads spill to /tmp")
	}
}

// environment is the names a container's environment will hold.
func (s *manifestSet) environment(c *corev1.Container) map[string]bool {
	env := make(map[string]bool)
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			for k := range s.configMapData(ef.ConfigMapRef.Name) {
				env[k] = true
			}
		}
		if ef.SecretRef != nil {
			for k := range s.secretKeys(ef.SecretRef.Name) {
				env[k] = true
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	return env
}

// envValue is a literal setting of a container, from its env or its
// ConfigMaps.
func (s *manifestSet) envValue(c *corev1.Container, name string) string {
	if e := findEnv(c, name); e != nil {
		return e.Value
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if v, ok := s.configMapData(ef.ConfigMapRef.Name)[name]; ok {
				return v
			}
		}
	}
	return ""
}

func findEnv(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// hasPort reports whether one of the containers has the port, by name or
// number.
func hasPort(cs []corev1.Container, port intstr.IntOrString) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

func (s *manifestSet) checkService(v *corev1.Service, report func(string, ...any)) {
	if len(v.Spec.Selector) == 0 {
		report("no selector")
		return
	}
	sel := labels.SelectorFromSet(v.Spec.Selector)
	var pods []corev1.Container
	for _, w := range s.workloads() {
		if w.longRunning && sel.Matches(labels.Set(w.template.Labels)) {
			pods = append(pods, w.template.Spec.Containers...)
		}
	}
	if len(pods) == 0 {
		report("the selector selects no pod template")
		return
	}
	for _, p := range v.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		if !hasPort(pods, target) {
			report("port %q: targetPort %s is no port of the pods it selects", p.Name, target.String())
		}
	}
}

func (s *manifestSet) checkIngress(v *networkingv1.Ingress, report func(string, ...any)) {
	// WebSockets outlive the proxy's default timeouts only between pings;
	// the timeouts are set, and generous.
	for _, a := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
		n, err := strconv.Atoi(v.Annotations[a])
		if err != nil || n < 60 {
			report("annotation %s = %q: want a number of seconds, at least 60, for WebSockets", a, v.Annotations[a])
		}
	}
	if len(v.Spec.TLS) == 0 {
		report("no TLS")
	}
	for _, r := range v.Spec.Rules {
		if r.HTTP == nil {
			report("rule for %q has no paths", r.Host)
			continue
		}
		for _, path := range r.HTTP.Paths {
			b := path.Backend.Service
			if b == nil {
				report("path %q has no Service backend", path.Path)
				continue
			}
			svc, _ := s.find("Service", b.Name).(*corev1.Service)
			if svc == nil {
				report("path %q: Service %q is not in the set", path.Path, b.Name)
				continue
			}
			found := false
			for _, p := range svc.Spec.Ports {
				found = found || (b.Port.Name != "" && p.Name == b.Port.Name) || (b.Port.Number != 0 && p.Port == b.Port.Number)
			}
			if !found {
				report("path %q: Service %q has no port %v", path.Path, b.Name, b.Port)
			}
		}
	}
}

func (s *manifestSet) checkPDB(v *policyv1.PodDisruptionBudget, report func(string, ...any)) {
	for _, w := range s.workloads() {
		if !selects(v.Spec.Selector, w.template.Labels) {
			continue
		}
		if s.minReplicas(w) < 2 {
			report("guards %s, which may run one replica: the budget would block every voluntary disruption", w.name)
		}
		return
	}
	report("the selector selects no pod template")
}

func (s *manifestSet) checkHPA(v *autoscalingv2.HorizontalPodAutoscaler, report func(string, ...any)) {
	ref := v.Spec.ScaleTargetRef
	d, _ := s.find(ref.Kind, ref.Name).(*appsv1.Deployment)
	if ref.APIVersion != "apps/v1" || d == nil {
		report("scales %s %s %q, which is not a Deployment of the set", ref.APIVersion, ref.Kind, ref.Name)
		return
	}
	if d.Spec.Replicas != nil {
		report("Deployment %q sets replicas, which every kubectl apply would reset under the autoscaler", d.Name)
	}
	if v.Spec.MinReplicas == nil || *v.Spec.MinReplicas < 2 {
		report("minReplicas is below 2")
	}
	if v.Spec.MinReplicas != nil && v.Spec.MaxReplicas < *v.Spec.MinReplicas {
		report("maxReplicas is below minReplicas")
	}
	if len(v.Spec.Metrics) == 0 {
		report("no metrics to scale on")
	}
}

// checkSecret insists that every value is the placeholder, alone or as the
// password of a URL, so no real password can be committed by accident.
func checkSecret(v *corev1.Secret, report func(string, ...any)) {
	if len(v.Data) > 0 {
		report("data (base64) hides what it holds: use stringData with %s", placeholder)
	}
	for k, val := range v.StringData {
		if u, err := url.Parse(val); err == nil && u.Scheme != "" && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != placeholder {
				report("%s holds a password that is not the placeholder %s", k, placeholder)
			}
			continue
		}
		if val != placeholder {
			report("%s is not the placeholder %s", k, placeholder)
		}
	}
}

var secretName = regexp.MustCompile(`(?i)pass(word)?|secret|token|credential|api_?key|private`)

// looksSecret reports whether a variable's name says it holds a secret.
func looksSecret(name string) bool { return secretName.MatchString(name) }

// hasPassword reports whether a value is a URL with a password in it.
func hasPassword(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.User == nil {
		// In case url.Parse refuses what the kubelet would not, look for
		// user:password@ by hand too.
		return urlPassword.MatchString(v)
	}
	_, ok := u.User.Password()
	return ok
}

var (
	varRef      = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	urlPassword = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://[^/@:]*:([^/@]+)@`)
)

// passwordIsReference reports whether a URL's password is nothing but a
// $(VAR) the kubelet fills in.
func passwordIsReference(v string) bool {
	m := urlPassword.FindStringSubmatch(v)
	return m != nil && varRef.ReplaceAllString(m[1], "") == ""
}

// varRefs are the $(VAR) references in a value, which the kubelet expands.
func varRefs(v string) []string {
	var refs []string
	for _, m := range varRef.FindAllStringSubmatch(v, -1) {
		refs = append(refs, m[1])
	}
	return refs
}
