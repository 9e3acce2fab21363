package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	nadutils "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NAD names of the two kinds of pods.
const (
	vifNAD    = "cvifbench-vif"
	bridgeNAD = "cvifbench-bridge"
)

// cluster creates the benchmark's objects and watches its pods.
type cluster struct {
	cfg       config
	client    client.Client
	clientset kubernetes.Interface

	mu sync.Mutex
	// ready holds when each pod was first seen with its secondary network
	// in network-status, by pod name.
	ready map[string]time.Time
	// gone holds the pods whose deletion was seen.
	gone    map[string]bool
	changed chan struct{}
}

func connect(cfg config) (*cluster, error) {
	rest, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", cfg.kubeconfig, err)
	}
	rest.QPS = -1
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := nadv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(rest, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("create clientset: %w", err)
	}
	return &cluster{
		cfg: cfg, client: c, clientset: cs,
		ready: map[string]time.Time{}, gone: map[string]bool{}, changed: make(chan struct{}, 1),
	}, nil
}

// watch starts an informer on the namespace's pods that records readiness
// and deletion. It returns when the informer has synced.
func (c *cluster) watch(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(c.clientset, 0, informers.WithNamespace(c.cfg.namespace))
	podInformer := factory.Core().V1().Pods().Informer()
	_, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(obj) },
		UpdateFunc: func(_, obj any) { c.observe(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				c.mu.Lock()
				c.gone[pod.Name] = true
				c.mu.Unlock()
				c.notify()
			}
		},
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	return nil
}

// observe records when a pod first shows its secondary network.
func (c *cluster) observe(obj any) {
	now := time.Now()
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	statuses, err := nadutils.GetNetworkStatus(pod)
	if err != nil {
		return
	}
	want := c.cfg.namespace + "/" + nadOf(pod.Name)
	for _, s := range statuses {
		if s.Name != want {
			continue
		}
		c.mu.Lock()
		if _, seen := c.ready[pod.Name]; !seen {
			c.ready[pod.Name] = now
		}
		c.mu.Unlock()
		c.notify()
		return
	}
}

func (c *cluster) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until done reports true, rechecking on every pod event, or
// until timeout.
func (c *cluster) waitFor(ctx context.Context, timeout time.Duration, what string, done func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok := done()
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// prepare creates the namespace with its default ServiceAccount, and the
// two NADs.
func (c *cluster) prepare(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.cfg.namespace}}
	if err := c.client.Create(ctx, ns); err != nil {
		return fmt.Errorf("create namespace %s (delete a leftover one first): %w", c.cfg.namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: c.cfg.namespace}}
	if err := c.client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ServiceAccount: %w", err)
	}
	configs := map[string]string{
		vifNAD: fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"type":"contrail-vif","virtualNetwork":%q}`, vifNAD, c.cfg.vn),
		bridgeNAD: fmt.Sprintf(`{"cniVersion":"1.0.0","type":"bridge","bridge":"cvifbench0","ipam":{"type":"host-local","subnet":"10.246.0.0/24","dataDir":%q}}`,
			c.cfg.ipamDir),
	}
	for name, conf := range configs {
		nad := &nadv1.NetworkAttachmentDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.cfg.namespace},
			Spec:       nadv1.NetworkAttachmentDefinitionSpec{Config: conf},
		}
		if err := c.client.Create(ctx, nad); err != nil {
			return fmt.Errorf("create NetworkAttachmentDefinition %s: %w", name, err)
		}
	}
	return nil
}

// nadOf returns the NAD that the pod name selects: vif-* pods select the
// contrail-vif NAD and br-* pods the bridge NAD.
func nadOf(pod string) string {
	if len(pod) > 4 && pod[:4] == "vif-" {
		return vifNAD
	}
	return bridgeNAD
}

func (c *cluster) pod(name string) *corev1.Pod {
	falseValue := false
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   c.cfg.namespace,
			Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": nadOf(name)},
		},
		Spec: corev1.PodSpec{
			NodeName:                      c.cfg.node,
			AutomountServiceAccountToken:  &falseValue,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "shell", Image: c.cfg.image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
			}},
		},
	}
}

// cleanup deletes the pods, waiting for kubelet to run CNI DEL, then the
// NADs and the namespace, and clears the namespace finalizer that the
// absent kube-controller-manager would clear.
func (c *cluster) cleanup(ctx context.Context) error {
	ns := client.InNamespace(c.cfg.namespace)
	var errs []error
	if err := c.client.DeleteAllOf(ctx, &corev1.Pod{}, ns, client.GracePeriodSeconds(1)); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete pods: %w", err))
	}
	deadline := time.Now().Add(c.cfg.podTimeout)
	for time.Now().Before(deadline) {
		pods := &corev1.PodList{}
		if err := c.client.List(ctx, pods, ns); err != nil || len(pods.Items) == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := c.client.DeleteAllOf(ctx, &nadv1.NetworkAttachmentDefinition{}, ns); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete NADs: %w", err))
	}
	if err := c.clientset.CoreV1().Namespaces().Delete(ctx, c.cfg.namespace, metav1.DeleteOptions{}); err != nil {
		if !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete namespace: %w", err))
		}
		return errors.Join(errs...)
	}
	nsObj, err := c.clientset.CoreV1().Namespaces().Get(ctx, c.cfg.namespace, metav1.GetOptions{})
	if err == nil && len(nsObj.Spec.Finalizers) > 0 {
		nsObj.Spec.Finalizers = nil
		if _, err := c.clientset.CoreV1().Namespaces().Finalize(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("finalize namespace: %w", err))
		}
	}
	return errors.Join(errs...)
}
