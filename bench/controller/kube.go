package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kube creates and deletes the benchmark's objects in the cluster.
type kube struct {
	client    client.Client
	clientset kubernetes.Interface
	cfg       config
}

func connect(cfg config) (*kube, error) {
	rest, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", cfg.kubeconfig, err)
	}
	// No client-side rate limit: the benchmark creates thousands of pods.
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
	return &kube{client: c, clientset: cs, cfg: cfg}, nil
}

func nadName(i int) string { return fmt.Sprintf("vn-%03d", i) }

// prepare creates the namespace, its default ServiceAccount (the cluster
// has no controller that would) and the NADs.
func (k *kube) prepare(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.namespace}}
	if err := k.client.Create(ctx, ns); err != nil {
		return fmt.Errorf("create namespace %s (delete a leftover one first): %w", k.cfg.namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: k.cfg.namespace}}
	if err := k.client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ServiceAccount: %w", err)
	}
	for i := range k.cfg.nads {
		fq := vnFQName(i)
		nad := &nadv1.NetworkAttachmentDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: nadName(i), Namespace: k.cfg.namespace},
			Spec: nadv1.NetworkAttachmentDefinitionSpec{Config: fmt.Sprintf(
				`{"cniVersion":"1.0.0","name":%q,"type":"contrail-vif","virtualNetwork":"%s:%s:%s"}`,
				nadName(i), fq[0], fq[1], fq[2])},
		}
		if err := k.client.Create(ctx, nad); err != nil {
			return fmt.Errorf("create NetworkAttachmentDefinition %s: %w", nad.Name, err)
		}
	}
	return nil
}

// pod returns pod i, which selects NAD i mod nads and runs on node i mod
// nodes.
func (k *kube) pod(i int) *corev1.Pod {
	falseValue := false
	grace := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("pod-%05d", i),
			Namespace:   k.cfg.namespace,
			Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": nadName(i % k.cfg.nads)},
		},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName(k.cfg, i%k.cfg.nodes),
			AutomountServiceAccountToken:  &falseValue,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "app", Image: "localhost/busybox:e2e", ImagePullPolicy: corev1.PullNever,
			}},
		},
	}
}

// createPods creates pods first..first+n-1 with conc parallel requests and
// returns, by pod UID, when each create request was sent.
func (k *kube) createPods(ctx context.Context, first, n, conc int) (map[string]time.Time, error) {
	var mu sync.Mutex
	sent := make(map[string]time.Time, n)
	next := make(chan int)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				p := k.pod(i)
				start := time.Now()
				if err := k.client.Create(ctx, p); err != nil {
					errs <- fmt.Errorf("create pod %s: %w", p.Name, err)
					return
				}
				mu.Lock()
				sent[string(p.UID)] = start
				mu.Unlock()
			}
		})
	}
	var err error
feed:
	for i := first; i < first+n; i++ {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	return sent, err
}

// cleanup deletes the pods at once (no kubelet runs them), the NADs and the
// namespace, and clears the namespace's finalizer, which the absent
// kube-controller-manager would clear.
func (k *kube) cleanup(ctx context.Context) error {
	ns := client.InNamespace(k.cfg.namespace)
	var errs []error
	if err := k.client.DeleteAllOf(ctx, &corev1.Pod{}, ns, client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete pods: %w", err))
	}
	if err := k.client.DeleteAllOf(ctx, &nadv1.NetworkAttachmentDefinition{}, ns); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete NADs: %w", err))
	}
	err := k.clientset.CoreV1().Namespaces().Delete(ctx, k.cfg.namespace, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return errors.Join(errs...)
	}
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("delete namespace: %w", err))...)
	}
	nsObj, err := k.clientset.CoreV1().Namespaces().Get(ctx, k.cfg.namespace, metav1.GetOptions{})
	if err == nil && len(nsObj.Spec.Finalizers) > 0 {
		nsObj.Spec.Finalizers = nil
		if _, err := k.clientset.CoreV1().Namespaces().Finalize(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("finalize namespace: %w", err))
		}
	}
	return errors.Join(errs...)
}
